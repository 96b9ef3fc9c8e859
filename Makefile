# gpt2eval: `make test` and `make reproduce-table` do their own set-up on a fresh machine.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# PyPI's Linux `torch` is the CUDA build (~0.9 GB wheel plus ~3 GB of nvidia-* wheels). A
# CPU-only machine saves most of that with the CPU build (~190 MB):
#   make install TORCH="torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu"
TORCH ?= torch==2.13.0

# Reproduction: `make reproduce-table` (one model), `make reproduce-all` (the four sizes).
# Offline compute node: `make download MODELS="gpt2 gpt2-medium gpt2-large gpt2-xl"` where
# there is network, then run with HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1.
MODEL ?= gpt2-large
MODELS ?= $(MODEL)
SIZES ?= gpt2 gpt2-medium gpt2-large gpt2-xl
DEVICE ?= auto
# float32 by default: the table marks other dtypes as differing from the paper's protocol.
DTYPE ?= float32
BATCH_SIZE ?= 8
DATA_DIR ?=
LIMIT ?=
FORCE ?=
# SAVE_TOKENS=1: also <task>.tokens.parquet per task, for `gpt2eval report RESULTS/<model>`.
SAVE_TOKENS ?=
RESULTS ?= results
GPT2EVAL := $(BIN)/gpt2eval
# $(call q,TEXT): TEXT as ONE shell word, whatever it holds (quotes, $, ;, spaces). Every
# variable a user can set reaches a command only through it, and never a make shell call.
q = '$(subst ','\'',$(1))'
REPRODUCE_OPTS = --model $(call q,$(MODEL)) --device $(call q,$(DEVICE)) --dtype $(call q,$(DTYPE)) \
	--batch-size $(call q,$(BATCH_SIZE)) --results-dir $(call q,$(RESULTS)) \
	$(if $(DATA_DIR),--data-dir $(call q,$(DATA_DIR))) $(if $(LIMIT),--limit $(call q,$(LIMIT))) \
	$(if $(filter 1 yes true,$(FORCE)),--force) $(if $(filter 1 yes true,$(SAVE_TOKENS)),--save-tokens)

.PHONY: install test test-fast clean reproduce-table reproduce-all download update-baseline sensitivity

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet $(TORCH)
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

# pytest-xdist workers, one per core (at most 4), each on one torch thread (tests/conftest.py):
# the suite is many small tests, which processes spread over the cores better than threads.
# TEST_WORKERS=0 runs every test in this one process.
TEST_WORKERS ?= auto
PYTEST = $(BIN)/python -m pytest -q -n $(call q,$(TEST_WORKERS)) --maxprocesses 4

# The full suite, as CI runs it: under 3 minutes on 2 quiet cores.
test: install
	$(PYTEST)

# The engine and CLI tests without the slow ones (whole real files, wheel builds, the CI
# baseline; listed in tests/conftest.py): under a minute on 2 quiet cores.
test-fast: install
	$(PYTEST) -m "not slow"

clean:
	rm -rf $(VENV) build dist *.egg-info

# Every Table 3 task for MODEL (finished tasks of the same config are kept; FORCE=1 reruns
# them). `gpt2eval reproduce` picks the folder, RESULTS/<model>/, prints it, and writes
# the table (table3.md, .csv, .tex) and figures/ there from the results it holds. It exits
# non-zero when a task was skipped or failed, saying which and how to fetch the data.
reproduce-table: install
	$(GPT2EVAL) reproduce $(REPRODUCE_OPTS)

# The four sizes, then one scaling figure over their folders (hub ids: '/' -> '__').
reproduce-all: install
	for m in $(foreach s,$(SIZES),$(call q,$(s))); do $(MAKE) --no-print-directory reproduce-table MODEL="$$m" || exit 1; done
	$(GPT2EVAL) plot $(foreach s,$(SIZES),$(call q,$(RESULTS)/$(subst /,__,$(s)))) --output $(call q,$(RESULTS)/figures) --format pdf

download: install
	$(GPT2EVAL) download $(foreach m,$(MODELS),--model $(call q,$(m))) $(if $(DATA_DIR),--data-dir $(call q,$(DATA_DIR)))

# Regenerate the CI regression baseline (results/ci/) after a deliberate change of numbers.
update-baseline: install
	$(BIN)/python tests/ci_baseline.py results/ci

# What each protocol choice the paper leaves open is worth, for every Table 3 task of MODEL:
# one `gpt2eval sensitivity` per task (base run: PRESET), then the tornado charts.
PRESET ?= paper
TABLE3_TASKS ?= lambada cbt-cn cbt-ne wikitext2 ptb enwik8 text8 wikitext103 1bw
sensitivity: install
	for t in $(TABLE3_TASKS); do $(GPT2EVAL) sensitivity --task $$t --preset $(PRESET) --model '$(MODEL)' --device $(DEVICE) \
		--dtype $(DTYPE) --batch-size $(BATCH_SIZE) $(if $(DATA_DIR),--data-dir '$(DATA_DIR)') $(if $(LIMIT),--limit $(LIMIT)) \
		--output '$(OUT)/sensitivity' || exit 1; done
	$(GPT2EVAL) plot '$(OUT)/sensitivity' --output '$(OUT)/sensitivity'
