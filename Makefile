# maskfer — two commands: `make reproduce` and `make test`. See README.md.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# The stamp is keyed on the pins: editing pyproject.toml reinstalls, a second run takes seconds.
PIN_HASH := $(shell sha1sum pyproject.toml | cut -c1-12)
STAMP := $(VENV)/.installed-$(PIN_HASH)

PROFILE ?= quick
DATASET ?= synthfacs
DATA_DIR ?=
SEED ?= 0
ONLY ?=

# make train-ddp: data-parallel torch training (torchrun; gloo on CPUs, NCCL on GPUs).
MODEL ?= fecn
NPROC ?= 2
EPOCHS ?= 10

.PHONY: venv reproduce figures test bench lint format lab clean help train-ddp

help:
	@echo "make reproduce   run every notebook (PROFILE=$(PROFILE) DATASET=$(DATASET) DATA_DIR=$(DATA_DIR) ONLY=01,03)"
	@echo "make test        unit tests + smoke runs of every notebook"
	@echo "make bench       CPU timing table -> figures/timing.csv"
	@echo "make train-ddp   data-parallel training (MODEL=$(MODEL) NPROC=$(NPROC) DATA_DIR=folder with train/ and validation/)"
	@echo "make lint        ruff check + format check"
	@echo "make lab         open JupyterLab on notebooks/"
	@echo "make clean       remove executed notebooks, caches and smoke outputs"

venv: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	@# The peers' wheels (maskfer_lib.peers) without their dependencies: see pyproject.toml.
	$(PY) -m pip install --quiet --no-deps $$($(PY) -c "import tomllib; print(' '.join(tomllib.load(open('pyproject.toml', 'rb'))['tool']['maskfer']['no-deps']))")
	@# triton (a torch dependency, GPU only) segfaults when loaded after TensorFlow; see ENV.md.
	$(PY) -m pip uninstall --quiet --yes triton 2>/dev/null || true
	$(PY) -m ipykernel install --sys-prefix --name maskfer --display-name "maskfer (.venv)" >/dev/null
	@rm -f $(VENV)/.installed-*
	@touch $@
	@echo "venv ready: $(VENV) (kernel 'maskfer' registered)"

reproduce: venv
	$(PY) -m maskfer_lib.reproduce --profile $(PROFILE) --dataset $(DATASET) \
		--data-dir "$(DATA_DIR)" --seed $(SEED) $(if $(ONLY),--only $(ONLY),)

figures: reproduce

test: venv
	$(PY) -m pytest

bench: venv
	$(PY) -m maskfer_lib.speed.table2 --profile $(PROFILE)

train-ddp: venv
	@test -n "$(DATA_DIR)" || { echo "set DATA_DIR to a folder holding train/<class>/ and validation/<class>/"; exit 2; }
	$(PY) -m torch.distributed.run --standalone --nproc_per_node $(NPROC) -m maskfer_lib.train_cli \
		--model $(MODEL) --data "$(DATA_DIR)/train" --val "$(DATA_DIR)/validation" \
		--epochs $(EPOCHS) --seed $(SEED) --out data/runs/ddp/$(MODEL)

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: venv
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

lab: venv
	$(VENV)/bin/jupyter lab notebooks/

clean:
	rm -rf notebooks/_executed data/_smoke data/cache .pytest_cache .ruff_cache
