# The two quick-start commands: `make demo` and `make test`. Both install what they need first.
SHELL := /bin/bash
DEMO_MODEL := Tests/Fixtures/models/tiny-preln-safetensors-sharded
DEMO_OUT := .build/demo
OPTIML := .build/release/optiml

.PHONY: setup setup-arm64 build demo demo-quick nano test test-arm64

# OpenBLAS is the BLAS on Linux, SQLite the results store's database (Apple platforms ship both), oneDNN the
# prefill GEMMs' library on Linux (optional at run time: without it prefill runs on BLAS and our kernels).
setup:
	@if [ "$$(uname)" = Linux ] && ! { pkg-config --exists openblas && pkg-config --exists sqlite3 && [ -f /usr/include/oneapi/dnnl/dnnl.h ]; } 2>/dev/null; then \
		echo "installing libopenblas-dev, libsqlite3-dev, libdnnl-dev and pkg-config"; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq libopenblas-dev libsqlite3-dev libdnnl-dev pkg-config >/dev/null; \
	fi

build: setup
	swift build -c release --product optiml

# The runtime end to end on a shipped tiny checkpoint, then `optiml demo`: the whole OPT-IML loop on a
# task suite and a nano model the tool makes itself (see README).
demo: build
	$(OPTIML) inspect --model $(DEMO_MODEL)
	$(OPTIML) tokenize --model $(DEMO_MODEL) "Hello world"
	$(OPTIML) generate --model $(DEMO_MODEL) --prompt "The capital of France is" --max-new-tokens 16
	$(OPTIML) generate --model $(DEMO_MODEL) --prompt "The capital of France is" --max-new-tokens 16 --temperature 0.8 --top-p 0.9 --seed 7 --json
	$(OPTIML) score --model $(DEMO_MODEL) --context "The capital of France is" --continuation " Paris" --json
	$(OPTIML) demo --out $(DEMO_OUT)

# The short demo CI runs after the tests (about half a minute once built).
demo-quick: build
	$(OPTIML) demo --quick --out .build/demo-quick

# Reproduces the shipped base model Models/nano from scratch (about 10 minutes on 2 cores).
nano: build
	$(OPTIML) nano --out Models/nano

# Then the kernel tests again with the features capped as on lesser x86-64 processors (AVX2 alone, as AMD Zen 3; AVX2
# with AVX-VNNI, as Intel's cores without AVX-512), in processes of their own since oneDNN takes the cap as it loads, so
# that a machine with more checks the paths those processors take, oneDNN's kernels included.
test: setup test-arm64
	swift test --no-parallel
	@if [ "$$(uname -m)" = x86_64 ]; then \
		for cap in avx2 avx2-vnni; do \
			echo "kernel tests under OPTIML_MAX_ISA=$$cap"; \
			OPTIML_MAX_ISA=$$cap swift test --no-parallel --skip-build --filter KernelTests || exit 1; \
		done; \
	fi

# The C kernels built for arm64 and run under qemu-aarch64 on an x86-64 Linux machine, on which `swift test` never
# reaches them: Linux's default target (armv8-a) on a processor with the dot-product instructions (QEMU's `max`,
# as Graviton 2 on) and on one without (Cortex-A57), and Apple's (apple-m1); the results ckernels.h promises bit for
# bit on every processor compared with this machine's own build (Tests/arm64/kernel_check.c). An arm64 host runs
# those kernels natively in `swift test`.
ARM64_CHECK := .build/arm64-check
ARM64_SOURCES := Sources/CKernels/*.c Tests/arm64/kernel_check.c
ARM64_FLAGS := -O2 -std=gnu11 -Wall -Wextra -I Sources/CKernels/include

setup-arm64:
	@if ! { command -v qemu-aarch64 && command -v aarch64-linux-gnu-gcc; } >/dev/null; then \
		echo "installing qemu-user and gcc-aarch64-linux-gnu (arm64 kernels under emulation)"; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq qemu-user gcc-aarch64-linux-gnu >/dev/null; \
	fi

test-arm64:
	@if [ "$$(uname -sm)" != "Linux x86_64" ]; then echo "test-arm64: for x86-64 Linux hosts; this one runs its own kernels in swift test"; exit 0; fi; \
	set -e; $(MAKE) --no-print-directory setup-arm64; mkdir -p $(ARM64_CHECK); \
	clang $(ARM64_FLAGS) $(ARM64_SOURCES) -o $(ARM64_CHECK)/x86_64 -lm -lpthread; \
	clang --target=aarch64-linux-gnu -march=armv8-a $(ARM64_FLAGS) $(ARM64_SOURCES) -o $(ARM64_CHECK)/armv8-a -lm -lpthread; \
	clang --target=aarch64-linux-gnu -mcpu=apple-m1 $(ARM64_FLAGS) $(ARM64_SOURCES) -o $(ARM64_CHECK)/apple-m1 -lm -lpthread; \
	$(ARM64_CHECK)/x86_64 > $(ARM64_CHECK)/x86_64.txt || { cat $(ARM64_CHECK)/x86_64.txt; exit 1; }; \
	echo "test-arm64 (x86-64 build, the digests' reference): $$(tail -1 $(ARM64_CHECK)/x86_64.txt | sed 's/^kernel check: //')"; \
	for run in armv8-a:max armv8-a:cortex-a57 apple-m1:max; do \
		build=$${run%:*}; cpu=$${run#*:}; out=$(ARM64_CHECK)/$$build-on-$$cpu.txt; \
		qemu-aarch64 -cpu $$cpu -L /usr/aarch64-linux-gnu $(ARM64_CHECK)/$$build > $$out || { cat $$out; exit 1; }; \
		diff <(grep '^digest' $(ARM64_CHECK)/x86_64.txt) <(grep '^digest' $$out) \
			|| { echo "test-arm64: the bits of $$build on $$cpu differ from x86-64's (< x86-64, > arm64)"; exit 1; }; \
		echo "test-arm64 ($$build build on qemu-aarch64 -cpu $$cpu, $$(head -1 $$out | sed 's/^kernel check on //')): $$(tail -1 $$out | sed 's/^kernel check: //'), digests equal to x86-64's"; \
	done
