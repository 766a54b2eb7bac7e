# Two commands do everything on a fresh machine (see README.md):
#   make quickstart   the main job
#   make test         the whole test suite (what CI runs)

TORCH_VERSION := 2.11.0
VENV ?= .venv
CARGO ?= cargo

# libtorch comes from PyPI's torch wheel in $(VENV); torch-sys finds it
# through the venv's python.
export VIRTUAL_ENV := $(abspath $(VENV))
export PATH := $(VIRTUAL_ENV)/bin:$(PATH)
export LIBTORCH_USE_PYTORCH := 1

TUNIX := $(CARGO) run --quiet --locked --

.PHONY: setup build quickstart test fmt lint unit schema-check schemas bench bench-train

setup:
	@scripts/setup-venv.sh "$(VENV)" "$(TORCH_VERSION)"

build: setup
	$(CARGO) build --locked

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

test: setup fmt lint unit schema-check

fmt:
	$(CARGO) fmt --check

lint: setup
	$(CARGO) clippy --locked --all-targets -- -D warnings

# The official DuckDB Python client (same DuckDB version as the bundled one)
# checks in a test that the index opens outside this tool.
unit: setup
	$(VIRTUAL_ENV)/bin/python -m pip install --quiet duckdb==2.0.0 safetensors==0.8.0
	TUNIX_TEST_PYTHON=$(VIRTUAL_ENV)/bin/python $(CARGO) test --locked

schema-check: setup
	$(TUNIX) schema export --check

# Benchmarks (release profile; prints ratios against the Python references).
bench: setup
	$(VIRTUAL_ENV)/bin/python -m pip install --quiet duckdb pandas jinja2
	PYTHON=$(VIRTUAL_ENV)/bin/python $(CARGO) bench --locked --bench scoring --bench store

# Regenerate schemas/ after changing a manifest or file-format type.
schemas: setup
	$(TUNIX) schema export

# Training throughput against the PyTorch eager reference (bench/train.sh;
# set TUNIX to a release binary and DEVICE=cuda on a GPU machine).
bench-train: build
	PYTHON=$(VIRTUAL_ENV)/bin/python bench/train.sh
