#!/usr/bin/env bash
# Renders an `optiml report` page in headless Chromium and saves a PNG screenshot of the whole page.
#
#   tools/check_report.sh [--open] [--width PX] [--height PX] REPORT.html [OUT.png]
#
# OUT.png defaults to REPORT.png beside the page. --open renders with the per-task <details> open.
# The window is as tall as the page (measured first in a scratch copy), or --height. Installs
# Chromium with apt-get if it is missing.
# Exits non-zero when the page is missing, loads something from outside itself, Chromium fails or
# no screenshot comes out.
set -euo pipefail

usage() { echo "usage: $0 [--open] [--width PX] [--height PX] REPORT.html [OUT.png]" >&2; exit 2; }

open_details=0 width=1200 height=
while [ $# -gt 0 ]; do
    case "$1" in
        --open) open_details=1; shift ;;
        --width) [ $# -ge 2 ] || usage; width=$2; shift 2 ;;
        --height) [ $# -ge 2 ] || usage; height=$2; shift 2 ;;
        -h|--help) usage ;;
        -*) echo "check_report: unknown option $1" >&2; usage ;;
        *) break ;;
    esac
done
[ $# -ge 1 ] && [ $# -le 2 ] || usage
html=$1
png=${2:-${html%.html}.png}
case "$width${height:-0}" in *[!0-9]*) echo "check_report: --width and --height take whole numbers of pixels" >&2; exit 2 ;; esac
[ -f "$html" ] || { echo "check_report: no such file: $html" >&2; exit 2; }

# Self-contained: no scripts, nothing fetched.
if grep -Eiq '<script|<link[^>]+href|<(img|iframe|object|embed)[^>]+src|@import|url\(' "$html"; then
    echo "check_report: $html is not self-contained (a script, link, external image or url(...) in it)" >&2
    exit 1
fi

find_chromium() {
    for name in chromium chromium-browser google-chrome google-chrome-stable; do
        if command -v "$name" >/dev/null 2>&1; then command -v "$name"; return 0; fi
    done
    return 1
}
if ! browser=$(find_chromium); then
    if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
        echo "check_report: installing Chromium (apt-get install -y chromium)" >&2
        apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >&2 || true
    fi
    browser=$(find_chromium) || { echo "check_report: Chromium is not installed and could not be installed (apt-get install -y chromium)" >&2; exit 3; }
fi

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
page="$scratch/report.html"
if [ "$open_details" = 1 ]; then sed 's/<details>/<details open>/g' "$html" > "$page"; else cp "$html" "$page"; fi
mkdir -p "$(dirname "$png")"
shot="$scratch/shot.png"
flags=(--headless --no-sandbox --disable-gpu --disable-dev-shm-usage --hide-scrollbars --no-first-run
       --no-default-browser-check --user-data-dir="$scratch/profile" --force-device-scale-factor=1)

# The page's height at this width, measured on a scratch copy with one line of script added (the
# report itself has none), unless --height is given.
if [ -z "$height" ]; then
    sed 's#</body>#<script>document.body.setAttribute("data-page-height", Math.ceil(document.documentElement.scrollHeight))</script></body>#' \
        "$page" > "$scratch/measure.html"
    timeout 120 "$browser" "${flags[@]}" --window-size="$width,1000" --dump-dom "file://$scratch/measure.html" \
        >"$scratch/dom.html" 2>"$scratch/chromium.log" || true
    height=$(grep -o 'data-page-height="[0-9]*"' "$scratch/dom.html" | head -n 1 | tr -dc '0-9') || true
    if [ -z "$height" ]; then
        echo "check_report: Chromium failed measuring $html:" >&2
        tail -n 20 "$scratch/chromium.log" >&2
        exit 1
    fi
    [ "$height" -le 30000 ] || height=30000
fi

status=0
timeout 180 "$browser" "${flags[@]}" --window-size="$width,$height" --screenshot="$shot" "file://$page" \
    >"$scratch/chromium.log" 2>&1 || status=$?
if [ "$status" != 0 ] || [ ! -s "$shot" ]; then
    echo "check_report: Chromium failed (exit $status) rendering $html:" >&2
    tail -n 20 "$scratch/chromium.log" >&2
    exit 1
fi
cp "$shot" "$png"
echo "$png (${width}x${height})"
