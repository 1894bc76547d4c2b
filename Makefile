# The two quick-start commands: `make demo` and `make test`. Both install what they need first.
SHELL := /bin/bash
DEMO_MODEL := Tests/Fixtures/models/tiny-preln-safetensors-sharded
DEMO_SUITE := .build/demo-suite
DEMO_BENCH := .build/demo-bench
DEMO_RUN := .build/demo-run
DEMO_TUNE := .build/demo-tune
DEMO_RUN_TUNED := .build/demo-run-tuned
OPTIML := .build/release/optiml

.PHONY: setup build demo test

# OpenBLAS is the BLAS on Linux, SQLite the results store's database (Apple platforms ship both).
setup:
	@if [ "$$(uname)" = Linux ] && ! { pkg-config --exists openblas && pkg-config --exists sqlite3; } 2>/dev/null; then \
		echo "installing libopenblas-dev, libsqlite3-dev and pkg-config"; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq libopenblas-dev libsqlite3-dev pkg-config >/dev/null; \
	fi

build: setup
	swift build -c release --product optiml

# Until the bundled nano model exists, the demo runs the runtime end to end on a shipped tiny checkpoint,
# then generates a task suite, builds an OPT-IML Bench of it with the three levels, evaluates the model
# 0- and 2-shot, instruction-tunes it on the bench's training split, evaluates the tuned checkpoint and
# writes the report comparing the two.
demo: build
	$(OPTIML) inspect --model $(DEMO_MODEL)
	$(OPTIML) tokenize --model $(DEMO_MODEL) "Hello world"
	$(OPTIML) generate --model $(DEMO_MODEL) --prompt "The capital of France is" --max-new-tokens 16
	$(OPTIML) generate --model $(DEMO_MODEL) --prompt "The capital of France is" --max-new-tokens 16 --temperature 0.8 --top-p 0.9 --seed 7 --json
	$(OPTIML) score --model $(DEMO_MODEL) --context "The capital of France is" --continuation " Paris" --json
	$(OPTIML) synth --out $(DEMO_SUITE) --instances 500
	$(OPTIML) bench build --source niv2:$(DEMO_SUITE)/tasks --preset $(DEMO_SUITE)/split.yaml --force --out $(DEMO_BENCH)
	$(OPTIML) bench stats $(DEMO_BENCH)
	$(OPTIML) bench show $(DEMO_BENCH) --task task9009_synthetic_review_sentiment --limit 1 --shots 2
	$(OPTIML) eval --model $(DEMO_MODEL) --bench $(DEMO_BENCH) --split test --shots 0,2 --limit 20 --max-new-tokens 8 --out $(DEMO_RUN)
	rm -rf $(DEMO_TUNE)
	$(OPTIML) tune --model $(DEMO_MODEL) --bench $(DEMO_BENCH) --out $(DEMO_TUNE) --steps 1500 --batch-size 8 --seq-len 64 \
		--lr 3e-3 --warmup 30 --dropout 0 --save-every 500
	$(OPTIML) eval --model $(DEMO_TUNE)/checkpoint-001500 --bench $(DEMO_BENCH) --split test --shots 0,2 --limit 20 --max-new-tokens 8 --out $(DEMO_RUN_TUNED)
	$(OPTIML) report $(DEMO_RUN) $(DEMO_RUN_TUNED) --compare --out $(DEMO_RUN)

test: setup
	swift test --no-parallel
