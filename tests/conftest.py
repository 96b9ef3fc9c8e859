"""What every test file shares: the real data, the tiny models, a session cache of loaded
models, and the CLI helpers (``from conftest import run, assert_usage_error``)."""
import dataclasses
import fcntl
import os
import shutil
from collections import OrderedDict
from pathlib import Path

# One CPU thread per test process, subprocesses (torchrun, kill -9) included, set before torch
# loads: tiny models run as fast on one thread, and the cores go to pytest-xdist workers. Idle
# OpenMP threads sleep instead of spinning: on a busy 2-core machine, spinning threads made a
# 800-sentence PTB run take 39 s instead of 3 s. The one property that threads could break
# (bit-identical scores across batch sizes) is tested with every core: `all_cpu_threads`.
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import pytest
import torch
from click.testing import CliRunner

import gpt2eval.models.loading
from gpt2eval.cli import main
from gpt2eval.testing import SMALL_VOCAB_SIZE, memorising_gpt2, save_tiny_gpt2

torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))  # in case something imported torch first

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
CBT_FIXTURES = Path(__file__).resolve().parent / "fixtures" / "cbt"
# What a test run may change in the checkout: caches of the tools that run it.
NOT_CHECKOUT = {".venv", ".git", "__pycache__", ".pytest_cache", "build", "dist"}
CHECKOUT = pytest.StashKey[dict]()

# `make test` runs every test; `make test-fast` (pytest -m "not slow") leaves these out to
# stay under a minute: whole real files, the CI baseline, wheel builds, and tests whose point
# is another process (torchrun, a killed run, pytest or make themselves), the memorising
# model's peer checks, or the whole figure set drawn by `reproduce`/`figures`.
SLOW = {
    "test_cli.py::test_ptb_full_run_has_the_exact_denominator",
    "test_cli.py::test_detok_check_reports_round_trip_rates",
    "test_ci_baseline.py::test_regenerated_baseline_matches_the_committed_one",
    "test_packaging.py::test_wheel_holds_and_imports_the_mapped_packages",
    "test_sweep.py::test_two_strides_write_results_summary_and_figure",
    "test_detok_one_billion_word.py::test_round_trip_rate",
    "test_detok_one_billion_word.py::test_detokenize_changes_typical_lines",
    "test_detok_wikitext.py::test_round_trip_rate_on_test_file",
    "test_detok_lambada.py::test_round_trip_rate",
    "test_one_billion_word.py::test_cli_end_to_end",
    "test_lambada.py::test_batch_size_does_not_change_any_score",
    "test_word_tasks.py::test_exact_denominators_on_the_real_files",
    "test_progress_ux.py::test_detok_check_failure_shows_where_not_whole_lines",
    # The contract over whole WikiText files; the other tasks' contract runs stay fast.
    "test_task_contract.py::test_task_contract[wikitext2]",
    "test_task_contract.py::test_task_contract[wikitext2-raw]",
    "test_task_contract.py::test_task_contract[wikitext103]",
    "test_task_contract.py::test_task_contract[wikitext103-raw]",
    "test_peers.py::test_megatron_preset_is_megatrons_adjusted_perplexity_on_ptb[None]",  # all of PTB, twice
    "test_align.py::test_real_wikitext_lines",
    "test_align.py::test_real_ptb_and_1bw_lines",
    "test_align.py::test_real_lambada_lines",
    "test_overlap.py::test_false_positive_rate_measured_against_the_bound",  # a rate, measured on many n-grams
    "test_overlap.py::test_half_of_ptb_plus_1bw_matches_an_exact_set_count",
    "test_overlap_cli.py::test_overlap_prints_table6_and_writes_the_json",
    # Other processes: torchrun, signals, pytest and make run as the user runs them.
    "test_distributed.py::test_torchrun_two_processes_equal_one",
    "test_pipeline.py::test_sweep_stride_under_torchrun_equals_one_process",
    "test_resume.py::test_kill_9_then_rerun_resumes_with_identical_metrics",
    "test_interrupts.py::test_sigterm_mid_run_keeps_the_work_and_the_rerun_resumes",
    "test_checkout_clean.py::test_a_session_that_writes_into_the_checkout_fails",
    "test_checkout_clean.py::test_a_session_that_edits_a_tracked_file_fails",
    "test_checkout_clean.py::test_default_outputs_land_in_the_tests_own_folder",
    "test_makefile.py::test_no_hostile_value_of_any_variable_is_executed",
    "test_report.py::test_the_report_never_imports_torch",
    "test_startup.py::test_test_fast_leaves_out_only_the_slow_tests",
    # The memorising model against the peers' own rules (trained once per test-model cache).
    "test_peers.py::test_lm_eval_preset_is_lm_evals_lambada_openai",
    "test_peers.py::test_lambada_standard_is_lm_evals_lambada_standard",
    "test_peers.py::test_megatron_preset_is_megatrons_strict_and_plain_lambada",
    "test_peers.py::test_bflm_preset_is_bflms_script_passage_by_passage",
    "test_peers.py::test_bflm_steps_and_matching_each_change_answers",
    "test_peers.py::test_cbt_prediction_is_the_largest_summed_log_probability",
    # Every figure drawn (matplotlib's layout: about a second a figure).
    "test_plot.py::test_plot_writes_every_figure",
    "test_plot.py::test_a_tiny_model_with_few_results_still_plots",
    "test_download.py::test_reproduce_skips_same_config_keeps_another_and_reruns_on_force",
    "test_reproduce_ux.py::test_reproduce_exits_1_and_says_how_to_fetch_when_a_task_is_skipped",
    "test_report_faults.py::test_reproduce_says_which_earlier_results_its_table_shows",
}


def checkout_files() -> dict:
    """{path: (size, mtime)} of every file in the checkout (tracked, untracked and ignored, as
    results/<model>/ is), but the tools' caches (``NOT_CHECKOUT``)."""
    state = {}
    for folder, subfolders, files in os.walk(ROOT):
        subfolders[:] = [d for d in subfolders if d not in NOT_CHECKOUT and not d.endswith(".egg-info")]
        for name in files:
            path = Path(folder, name)
            info = path.lstat()
            state[str(path.relative_to(ROOT))] = (info.st_size, info.st_mtime_ns)
    return state


def pytest_sessionstart(session):
    session.config.stash[CHECKOUT] = checkout_files()


def pytest_sessionfinish(session, exitstatus):
    """Tests write in temporary folders only: a run that changed the checkout fails."""
    before = session.config.stash.get(CHECKOUT, None)
    if before is None:
        return
    after = checkout_files()
    changed = sorted(p for p in before.keys() | after.keys() if before.get(p) != after.get(p))
    if changed:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        text = f"the tests changed the checkout ({len(changed)} files, e.g. {', '.join(changed[:5])}): tests must write only to temporary folders"
        if reporter:
            reporter.write_line(f"ERROR: {text}", red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture(autouse=True)
def _in_a_temporary_folder(tmp_path_factory, monkeypatch):
    """Each test runs in its own empty folder: a default output (results/...) lands there."""
    monkeypatch.chdir(tmp_path_factory.mktemp("cwd"))


def pytest_collection_modifyitems(items):
    for item in items:
        if {f"{item.path.name}::{item.originalname}", f"{item.path.name}::{item.name}"} & SLOW:
            item.add_marker(pytest.mark.slow)
    # The files with long tests first (a stable sort: the same order in every pytest-xdist
    # worker), so that the workers finish together instead of one running a long test at
    # the end. A file's tests stay together: its module fixtures (the peer checks' model and
    # runs) are built once, not again each time the worker comes back to the file.
    slow_files = {item.path for item in items if item.get_closest_marker("slow")}
    items.sort(key=lambda item: item.path not in slow_files)


def pytest_configure(config):
    config.addinivalue_line("markers", "fresh_load: load_model really loads (the session cache of loaded models is off)")


# --- the CLI, in-process --------------------------------------------------------------

def run(*args, **kwargs):
    """``gpt2eval ARGS`` through click's CliRunner (arguments may be paths or numbers)."""
    return CliRunner().invoke(main, [str(a) for a in args], **kwargs)


def assert_usage_error(result, fragment, ignore=(), stderr=False):
    """Exit 2 with one line ``error: ...`` that names ``fragment``, and no traceback.
    ``ignore``: prefixes of other lines allowed beside it (warnings); ``stderr``: look only
    there (stdout may have reported work done before the error)."""
    assert result.exit_code == 2, result.output
    text = result.stderr if stderr else result.output
    lines = [x for x in text.splitlines() if x.strip() and not (ignore and x.startswith(tuple(ignore)))]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.output
    assert fragment in lines[0], lines[0]
    assert "Traceback" not in result.output


# --- data and models ------------------------------------------------------------------


@pytest.fixture
def all_cpu_threads():
    """As many torch threads as the machine has cores, for this test only."""
    before = torch.get_num_threads()
    torch.set_num_threads(os.cpu_count() or 1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def data_dir() -> Path:
    if not SHARED_DATA.is_dir():
        if os.environ.get("CI"):  # CI always has ../shared beside the clone: never pass by skipping
            pytest.fail(f"real test data not found at {SHARED_DATA}")
        pytest.skip(f"real test data not found at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory) -> Path:
    """A tiny random GPT-2 (context 128) whose vocabulary is GPT-2's BPE cut to 1,024 tokens
    (gpt2eval.testing): for every test where the vocabulary is not the point."""
    return built_once(tmp_path_factory, "tiny-gpt2", lambda path: save_tiny_gpt2(path, vocab_size=SMALL_VOCAB_SIZE))


@pytest.fixture(scope="session")
def gpt2_model_dir(tmp_path_factory) -> Path:
    """The same tiny GPT-2 with the real 50,257-token BPE (seed 0, as in the CI baseline and
    bench/): for exact token counts and ids, and numbers pinned against other tools."""
    return built_once(tmp_path_factory, "gpt2-vocab/tiny-gpt2", save_tiny_gpt2)


@pytest.fixture(scope="session")
def memorising_model_dir(data_dir) -> Path:
    """A tiny GPT-2 (GPT-2's whole BPE) that has learnt some LAMBADA passages and the CBT
    fixture's answers (tests/memorising.py): trained once, then read from the test-model cache."""
    from memorising import sequences

    return memorising_gpt2(sequences(data_dir, CBT_FIXTURES))


@pytest.fixture(scope="session")
def bert_dir(tmp_path_factory):
    """A tiny BERT masked LM saved by transformers: AutoModelForCausalLM loads it (with a warning)."""
    import torch
    from transformers import BertConfig, BertForMaskedLM

    from gpt2eval.testing import gpt2_tokenizer

    def build(path):
        torch.manual_seed(0)
        config = BertConfig(vocab_size=SMALL_VOCAB_SIZE, hidden_size=64, num_hidden_layers=2, num_attention_heads=4,
                            intermediate_size=128, max_position_embeddings=128)
        BertForMaskedLM(config).save_pretrained(path)
        gpt2_tokenizer(SMALL_VOCAB_SIZE).save_pretrained(path)

    return built_once(tmp_path_factory, "bert", build)


@pytest.fixture(scope="session")
def report_runs(gpt2_model_dir, data_dir, tmp_path_factory):
    """Result folders for the report tests (tests/report_runs.py), built once a session. GPT-2's
    own BPE: which passages the presets tokenize alike (Δ per token) is what the pages show."""
    from report_runs import RUN_NAMES, make_runs

    built = built_once(tmp_path_factory, "report-runs", lambda path: make_runs(path, gpt2_model_dir, data_dir))
    # The tests write their pages into these folders: each worker reads its own copy.
    mine = tmp_path_factory.mktemp("report-runs") / "runs"
    shutil.copytree(built, mine, symlinks=True)
    return {name: mine / name for name in RUN_NAMES}


# --- built once a session, whatever the number of pytest-xdist workers -------------------

def built_once(tmp_path_factory, name: str, build) -> Path:
    """``tmp/<name>``, made by ``build(path)`` once per test session: pytest-xdist workers share
    the session's temporary root, so the first to get here builds under a lock and the others
    wait for it and reuse its folder (a session fixture is otherwise built once per worker).
    Whole or not at all: a build that fails leaves nothing that a later test would reuse."""
    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent  # pytest-<n>/popen-gw<i> -> pytest-<n>, this session's own
    path = root / "built-once" / name
    done = path.parent / f".{path.name}.done"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.parent / f".{path.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not done.exists():
            shutil.rmtree(path, ignore_errors=True)
            build(path)
            done.touch()
    return path


# --- a session cache of loaded models ---------------------------------------------------
# About 60 CLI tests load the same tiny model. In-process, `load_model` hands back the model
# loaded for the same ModelConfig and the same files (name, size, mtime of each), as a new
# LoadedModel around the shared (eval-mode, never trained) module and tokenizer. Hub ids,
# failed loads (their errors are what tests check) and subprocesses are never cached.
# A test about loading itself takes `@pytest.mark.fresh_load`.
_real_load_model = gpt2eval.models.loading.load_model
_loaded: OrderedDict = OrderedDict()
_MAX_LOADED = 8  # tests that build their own model in tmp_path load it once or twice


def _files_state(folder: Path) -> tuple:
    return tuple(sorted((p.name, s.st_size, s.st_mtime_ns, s.st_ino) for p in folder.iterdir() for s in [p.stat()]))


def load_model_cached(cfg):
    folder = Path(cfg.model)
    if not folder.is_dir():
        return _real_load_model(cfg)
    key = (cfg, str(folder.resolve()), _files_state(folder))
    if key not in _loaded:
        _loaded[key] = _real_load_model(cfg)
        while len(_loaded) > _MAX_LOADED:
            _loaded.popitem(last=False)
    _loaded.move_to_end(key)
    return dataclasses.replace(_loaded[key])


@pytest.fixture(autouse=True)
def _session_model_cache(request, monkeypatch):
    if request.node.get_closest_marker("fresh_load") is None:
        monkeypatch.setattr(gpt2eval.models.loading, "load_model", load_model_cached)
