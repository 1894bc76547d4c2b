# The two quick-start commands: `make demo` and `make test`. Both install what they need first.
SHELL := /bin/bash
DEMO_MODEL := Tests/Fixtures/models/tiny-preln-safetensors-sharded
DEMO_OUT := .build/demo
OPTIML := .build/release/optiml

.PHONY: setup build demo demo-quick nano test

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

test: setup
	swift test --no-parallel
