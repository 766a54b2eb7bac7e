# Two commands do everything on a fresh machine (see README.md):
#   make quickstart   the main job
#   make test         the whole test suite (what CI runs)

TORCH_VERSION := 2.11.0
VENV ?= .venv
CARGO ?= cargo

# libtorch comes from PyPI's torch wheel in $(VENV); torch-sys finds it
# through the venv's python. Only the trainer worker (crates/tunix-torch)
# links it; the tunix-rt CLI does not.
export VIRTUAL_ENV := $(abspath $(VENV))
export PATH := $(VIRTUAL_ENV)/bin:$(PATH)
export LIBTORCH_USE_PYTORCH := 1

# The binaries of `make build` (both in one folder: tunix-rt finds
# tunix-rt-worker beside itself).
BIN := $(or $(CARGO_TARGET_DIR),target)/debug
TUNIX := $(BIN)/tunix-rt

.PHONY: setup build install quickstart test browser fmt lint unit schema-check evidence slurm-test gpu-test schemas bench bench-installed bench-page bench-train bench-startup bench-sweep bench-search bench-hf

setup:
	@scripts/setup-venv.sh "$(VENV)" "$(TORCH_VERSION)"

# The CLI and the trainer worker, built exactly as the tests build them
# (`cargo test --no-run`: the same feature set), so DuckDB's bundled C++ is
# compiled once for the quickstart, the tests and the schema check instead
# of once per package selection.
build: setup
	$(CARGO) test --locked --workspace --no-run --quiet

# Install optimized, stripped tunix-rt and tunix-rt-worker side by side in
# $(PREFIX)/bin (the CLI finds the worker beside itself). The worker loads
# libtorch from $(VENV)'s torch wheel, so keep that venv (or pass a
# lasting one, e.g. VENV=~/.local/share/tunix-rt/venv). The first build
# compiles DuckDB's C++ at -O3 (see docs/install.md for the time it takes).
PREFIX ?= $(HOME)/.local
INSTALL_DIR := $(or $(CARGO_TARGET_DIR),target)/dist
install: setup
	$(CARGO) build --locked --workspace --profile dist --bins
	install -d "$(PREFIX)/bin"
	install -m 755 "$(INSTALL_DIR)/tunix-rt" "$(INSTALL_DIR)/tunix-rt-worker" "$(PREFIX)/bin/"
	"$(PREFIX)/bin/tunix-rt" doctor
	@echo "installed tunix-rt and tunix-rt-worker in $(PREFIX)/bin (put it on PATH: export PATH=\"$(PREFIX)/bin:\$$PATH\")"

# Train the quickstart model on the CPU (a few minutes on two cores),
# evaluate it on eval_v2, record the run in tunix.duckdb and render the
# leaderboard.
quickstart: build
	$(TUNIX) validate manifests/ configs/
	$(TUNIX) data manifests/quickstart.yaml --check-overlap
	$(TUNIX) run manifests/quickstart.yaml
	$(TUNIX) report leaderboard --format md
	$(TUNIX) report leaderboard -o reports/leaderboard.html
	@echo "leaderboard: reports/leaderboard.html"

test: setup browser fmt lint unit schema-check evidence slurm-test

# The HTML report tests open reports in headless Chromium: install it
# (Debian/Ubuntu, as root) or say how.
browser:
	@scripts/ensure-chromium.sh

fmt:
	$(CARGO) fmt --all --check

lint: setup
	$(CARGO) clippy --locked --workspace --all-targets -- -D warnings

# The official DuckDB Python client (same DuckDB version as the bundled one)
# checks in a test that the index opens outside this tool; PyTorch and
# safetensors check that checkpoints load into the reference model;
# transformers and peft run trainers/hf_peft/train.py (tests/cli/hf_trainer.rs)
# and load the Hugging Face folders and adapters the worker writes
# (offline: the tests set HF_HUB_OFFLINE=1).
unit: build
	$(VIRTUAL_ENV)/bin/python -m pip install --quiet duckdb==2.0.0 safetensors==0.8.0 optuna==5.1.0 transformers==5.25.0 peft==0.21.2
	TUNIX_TEST_PYTHON=$(VIRTUAL_ENV)/bin/python $(CARGO) test --locked --workspace

schema-check: build
	$(TUNIX) schema export --check

# The decisions CI relies on, run on the committed evidence: every evidence
# folder and the baseline lock validate; the tiny CPU model trains and
# evaluates bit-identically twice; m35_v1 against the locked baseline
# (informational: prints the verdict, exits 0).
evidence: build
	$(TUNIX) validate submission_runs configs/baseline.lock.yaml
	$(TUNIX) determinism manifests/ci_tiny.yaml --train
	$(TUNIX) regress --candidate m35_v1 --informational --format md

# `executor: slurm` against a real cluster: tests/slurm/start.sh installs
# Debian's Slurm and starts a single-node cluster on this machine (root
# needed), the tests of tests/cli/slurm.rs and tests/cli/slurm/ (all under
# `slurm::`) run against it, stop.sh stops its daemons by pid. Where the
# cluster cannot start, this says why and the rest of the suite goes on.
SLURM_DIR ?= $(or $(TUNIX_SLURM_DIR),/tmp/tunix-slurm)
slurm-test: build
	@if tests/slurm/start.sh "$(SLURM_DIR)"; then \
	  . "$(SLURM_DIR)/env"; start=$$(date +%s); rc=0; \
	  TUNIX_TEST_PYTHON=$(VIRTUAL_ENV)/bin/python $(CARGO) test --locked --workspace --test cli slurm:: -- --include-ignored || rc=$$?; \
	  echo "slurm: integration tests took $$(( $$(date +%s) - start )) s"; \
	  tests/slurm/stop.sh "$(SLURM_DIR)"; exit $$rc; \
	else rc=$$?; \
	  if [ $$rc -eq 3 ] && [ "$${TUNIX_SKIP_SLURM_TESTS:-}" = 1 ]; then \
	    echo "slurm: integration tests SKIPPED: the cluster could not start (reason above) and TUNIX_SKIP_SLURM_TESTS=1"; \
	  elif [ $$rc -eq 3 ]; then \
	    echo "slurm: the Slurm tests need the single-node cluster, which could not start (reason above); fix that, or set TUNIX_SKIP_SLURM_TESTS=1 to skip them knowingly" >&2; exit 1; \
	  else exit $$rc; fi; \
	fi

# The device tests (crates/tunix-torch/tests/device.rs: one training step,
# greedy generation with the KV cache, a checkpoint round trip) on the CPU
# (cpu::) and on cuda:0 (cuda::, in bf16 mixed precision), through the
# worker crate's `cuda` feature. For a machine with a GPU and not part of
# `make test`: where libtorch sees no CUDA device the cuda:: tests fail
# saying so. It builds tunix-torch alone (no DuckDB).
gpu-test: setup
	$(CARGO) test --locked -p tunix-torch --features cuda --test device --test hf_device

# Benchmarks (release profile; prints ratios against the Python references).
bench: setup
	$(VIRTUAL_ENV)/bin/python -m pip install --quiet duckdb pandas jinja2
	PYTHON=$(VIRTUAL_ENV)/bin/python $(CARGO) bench --locked -p tunix-rt --bench scoring --bench store

# The store goals measured with the installed programs (`make install`
# first), whole processes on both sides (bench/installed.py).
bench-installed: build
	$(VIRTUAL_ENV)/bin/python -m pip install --quiet duckdb==2.0.0 pandas jinja2
	$(VIRTUAL_ENV)/bin/python bench/installed.py "$(PREFIX)/bin/tunix-rt" "$(BIN)/examples/synthetic_runs"

# The store benchmark's largest pages (the 10,000-run leaderboard, the
# 10,000-item compare) in headless Chromium: size, load time, sort and
# filter times (bench/page.py).
PAGES := $(or $(CARGO_TARGET_DIR),target)/bench-pages
bench-page: setup browser
	$(VIRTUAL_ENV)/bin/python -m pip install --quiet duckdb pandas jinja2
	rm -rf "$(PAGES)"
	TUNIX_BENCH_REPS=1 TUNIX_BENCH_HTML="$(PAGES)" PYTHON=$(VIRTUAL_ENV)/bin/python $(CARGO) bench --locked -p tunix-rt --bench store
	python3 bench/page.py "$(PAGES)/leaderboard-all.html"
	python3 bench/page.py "$(PAGES)/compare.html"

# Start-up time and memory of the CLI against the torch-loading worker
# (bench/startup.py; TUNIX_BIN_DIR selects the build, default the dev one).
bench-startup: build
	python3 bench/startup.py "$${TUNIX_BIN_DIR:-$(BIN)}"

# Scheduler overhead of 200 trivial sweep trials against Ray Tune on the
# same trials (bench/sweep_overhead.py; TUNIX_BIN_DIR selects the build).
bench-sweep: build
	$(VIRTUAL_ENV)/bin/python -m pip install --quiet "ray[tune]"
	$(VIRTUAL_ENV)/bin/python bench/sweep_overhead.py "$${TUNIX_BIN_DIR:-$(BIN)}/tunix-rt"

# TPE against Optuna's TPE and random search: median simple regret on
# Branin, Hartmann-6 and a noisy 4-parameter surface (docs/benchmarks.md).
bench-search: build
	$(VIRTUAL_ENV)/bin/python -m pip install --quiet optuna
	$(VIRTUAL_ENV)/bin/python bench/search.py "$${TUNIX_BIN_DIR:-$(BIN)}/tunix-rt"

# Regenerate schemas/ after changing a manifest or file-format type.
schemas: build
	$(TUNIX) schema export

# Training throughput against the PyTorch eager reference (bench/train.sh;
# set TUNIX to a release binary and DEVICE=cuda on a GPU machine).
bench-train: build
	PYTHON=$(VIRTUAL_ENV)/bin/python bench/train.sh

# The Hugging Face decoder on the CPU against transformers + peft: LoRA
# fine-tuning and greedy decoding tokens/s, peak RSS (bench/hf_cpu.py); then
# the peak memory of a LoRA step over a 0.5B-shaped model with a bf16 base
# (bench/hf_memory.py, about 1 GB in a temporary folder). The Rust side is
# the tunix-torch example hf_bench, built alone (no DuckDB).
bench-hf: setup
	$(CARGO) build --locked --example hf_bench
	$(VIRTUAL_ENV)/bin/python bench/hf_cpu.py --bin "$(BIN)/examples/hf_bench"
	$(VIRTUAL_ENV)/bin/python bench/hf_memory.py --bin "$(BIN)/examples/hf_bench"
