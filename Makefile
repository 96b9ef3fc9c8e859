# gpt2eval: `make test` and `make reproduce-table` do their own set-up on a fresh machine.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# CPU machines take the local CPU wheel; on a GPU machine use e.g.
#   make install TORCH="torch --index-url https://download.pytorch.org/whl/cu124"
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
RESULTS ?= results
GPT2EVAL := $(BIN)/gpt2eval
# The results folder of MODEL, named as `gpt2eval run` names it (gpt2eval.results.model_slug).
SLUG = $(shell $(BIN)/python -c 'import sys; from gpt2eval.results import model_slug; print(model_slug(sys.argv[1]))' '$(MODEL)')
OUT = $(RESULTS)/$(SLUG)
REPRODUCE_OPTS = --model '$(MODEL)' --device $(DEVICE) --dtype $(DTYPE) --batch-size $(BATCH_SIZE) \
	$(if $(DATA_DIR),--data-dir '$(DATA_DIR)') $(if $(LIMIT),--limit $(LIMIT)) $(if $(filter 1 yes true,$(FORCE)),--force)

.PHONY: install test clean reproduce-table reproduce-all download update-baseline sensitivity

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet $(TORCH)
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

test: install
	$(BIN)/python -m pytest -q

clean:
	rm -rf $(VENV) build dist *.egg-info

# Every Table 3 task for MODEL (finished tasks of the same config are kept; FORCE=1 reruns
# them), then the table in three formats and the figures.
reproduce-table: install
	$(GPT2EVAL) reproduce $(REPRODUCE_OPTS) --output '$(OUT)'
	$(GPT2EVAL) table $(OUT)/*.json --format markdown --output '$(OUT)/table3.md'
	$(GPT2EVAL) table $(OUT)/*.json --format csv --output '$(OUT)/table3.csv'
	$(GPT2EVAL) table $(OUT)/*.json --format latex --output '$(OUT)/table3.tex'
	$(GPT2EVAL) plot '$(OUT)' --output '$(OUT)/figures' --format pdf

reproduce-all: install
	for m in $(SIZES); do $(MAKE) --no-print-directory reproduce-table MODEL=$$m || exit 1; done
	$(GPT2EVAL) plot $(addprefix $(RESULTS)/,$(SIZES)) --output '$(RESULTS)/figures' --format pdf

download: install
	$(GPT2EVAL) download $(foreach m,$(MODELS),--model '$(m)') $(if $(DATA_DIR),--data-dir '$(DATA_DIR)')

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
