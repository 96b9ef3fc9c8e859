# gpt2eval: `make test` and `make reproduce-table` do their own set-up on a fresh machine.
PYTHON ?= python3
VENV ?= .venv
# PyPI's Linux `torch` is the CUDA build (~0.9 GB wheel plus ~3 GB of nvidia-* wheels). A
# CPU-only machine saves most of that with the CPU build (~190 MB):
#   make install TORCH="torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu"
TORCH ?= torch==2.13.0

# Reproduction: `make reproduce-table` (one model), `make reproduce-all` (the four sizes).
# Offline compute node: `make download MODELS="gpt2 gpt2-medium gpt2-large gpt2-xl"` where
# there is network, then run with HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1.
MODEL ?= gpt2-large
MODELS ?=
SIZES ?= gpt2 gpt2-medium gpt2-large gpt2-xl
DEVICE ?= auto
# float32 by default: the table marks other dtypes as differing from the paper's protocol.
DTYPE ?= float32
# auto: on a GPU the largest batch that fits; on a CPU the fastest of 1, 2, 4, 8 by a short probe.
BATCH_SIZE ?= auto
DATA_DIR ?=
LIMIT ?=
FORCE ?=
# SAVE_TOKENS=1: also <task>.tokens.parquet per task, for `gpt2eval report RESULTS/<model>`.
SAVE_TOKENS ?=
RESULTS ?= results
# $(call v,NAME): NAME's text exactly as the user gave it (command line or environment: a `$`
# in it is kept, never expanded by make), else this Makefile's default. $(call q,TEXT): TEXT
# as ONE shell word, whatever it holds (quotes, $, ;, spaces); $(call qv,NAME) both; $(call
# qw,NAME): each word of a list variable as one shell word. Every variable a user can set
# reaches a command only through them, and never a make shell call (tests/test_makefile.py
# runs every target with a hostile value of every variable).
v = $(if $(filter command line environment environment override,$(origin $(1))),$(value $(1)),$($(1)))
# make puts command-line variables, EXPANDED, into every recipe's environment: in a value, even
# a make shell call would run. Not exported, they still reach `$(MAKE)` through MAKEFLAGS.
USER_VARIABLES = PYTHON VENV TORCH TEST_WORKERS MODEL MODELS SIZES DEVICE DTYPE BATCH_SIZE DATA_DIR LIMIT FORCE SAVE_TOKENS RESULTS \
	PRESET TABLE3_TASKS OUT
$(foreach x,$(USER_VARIABLES),$(if $(filter command line,$(origin $(x))),$(eval unexport $(x))))
q = '$(subst ','\'',$(1))'
qv = $(call q,$(call v,$(1)))
qw = $(foreach w,$(call v,$(1)),$(call q,$(w)))
bin = $(call q,$(call v,VENV)/bin/$(1))
GPT2EVAL = $(call bin,gpt2eval)
REPRODUCE_OPTS = --model $(call qv,MODEL) --device $(call qv,DEVICE) --dtype $(call qv,DTYPE) \
	--batch-size $(call qv,BATCH_SIZE) --results-dir $(call qv,RESULTS) \
	$(if $(call v,DATA_DIR),--data-dir $(call qv,DATA_DIR)) $(if $(call v,LIMIT),--limit $(call qv,LIMIT)) \
	$(if $(filter 1 yes true,$(call v,FORCE)),--force) $(if $(filter 1 yes true,$(call v,SAVE_TOKENS)),--save-tokens)

.PHONY: install test test-fast clean reproduce-table reproduce-all download update-baseline sensitivity

install: $(call v,VENV)/.installed

$(call v,VENV)/.installed: pyproject.toml
	$(call qv,PYTHON) -m venv $(call qv,VENV)
	$(call bin,pip) install --quiet --upgrade pip
	$(call bin,pip) install --quiet $(call qw,TORCH)
	$(call bin,pip) install --quiet -e '.[test]'
	touch $(call q,$@)

# pytest-xdist workers, one per core (at most 4), each on one torch thread (tests/conftest.py):
# the suite is many small tests, which processes spread over the cores better than threads.
# `loadgroup`: a file that shares an expensive module fixture (tests/test_peers.py) stays on one
# worker. TEST_WORKERS=0 runs every test in this one process.
TEST_WORKERS ?= auto
PYTEST = $(call bin,python) -m pytest -q -n $(call qv,TEST_WORKERS) --maxprocesses 4 --dist loadgroup

# The full suite, as CI runs it: under 3 minutes on 2 quiet cores.
test: install
	$(PYTEST)

# The engine and CLI tests without the slow ones (whole real files, wheel builds, the CI
# baseline; listed in tests/conftest.py): under a minute on 2 quiet cores.
test-fast: install
	$(PYTEST) -m "not slow"

clean:
	rm -rf $(call qv,VENV) build dist *.egg-info

# Every Table 3 task for MODEL (finished tasks of the same config are kept; FORCE=1 reruns
# them). `gpt2eval reproduce` picks the folder, RESULTS/<model>/, prints it, and writes
# the table (table3.md, .csv, .tex) and figures/ there from the results it holds. It exits
# non-zero when a task was skipped or failed, saying which and how to fetch the data.
reproduce-table: install
	$(GPT2EVAL) reproduce $(REPRODUCE_OPTS)

# The four sizes, then one scaling figure over their folders (hub ids: '/' -> '__').
reproduce-all: install
	for m in $(call qw,SIZES); do $(MAKE) --no-print-directory reproduce-table MODEL="$$m" || exit 1; done
	$(GPT2EVAL) plot $(foreach s,$(call v,SIZES),$(call q,$(call v,RESULTS)/$(subst /,__,$(s)))) --output $(call q,$(call v,RESULTS)/figures) --format pdf

# MODELS (a list) or else MODEL.
download: install
	$(GPT2EVAL) download $(if $(call v,MODELS),$(foreach m,$(call v,MODELS),--model $(call q,$(m))),--model $(call qv,MODEL)) \
		$(if $(call v,DATA_DIR),--data-dir $(call qv,DATA_DIR))

# Regenerate the CI regression baseline (results/ci/) after a deliberate change of numbers.
update-baseline: install
	$(call bin,python) tests/ci_baseline.py results/ci

# What each protocol choice the paper leaves open is worth, for every Table 3 task of MODEL:
# one `gpt2eval sensitivity` per task (base run: PRESET), then the tornado charts, into OUT
# [default: beside the other results, RESULTS/<model>/sensitivity, the folder `reproduce` uses].
PRESET ?= paper
TABLE3_TASKS ?= lambada cbt-cn cbt-ne wikitext2 ptb enwik8 text8 wikitext103 1bw
OUT ?=
SLUG = $(call bin,python) -c 'import sys; from gpt2eval.results import model_slug; print(model_slug(sys.argv[1]))'
sensitivity: install
	out=$(if $(call v,OUT),$(call qv,OUT),$(call qv,RESULTS)/"$$($(SLUG) $(call qv,MODEL))"/sensitivity) && \
	for t in $(call qw,TABLE3_TASKS); do $(GPT2EVAL) sensitivity --task "$$t" --preset $(call qv,PRESET) \
		--model $(call qv,MODEL) --device $(call qv,DEVICE) --dtype $(call qv,DTYPE) --batch-size $(call qv,BATCH_SIZE) \
		$(if $(call v,DATA_DIR),--data-dir $(call qv,DATA_DIR)) $(if $(call v,LIMIT),--limit $(call qv,LIMIT)) \
		--output "$$out" || exit 1; done && \
	$(GPT2EVAL) plot "$$out" --output "$$out"
