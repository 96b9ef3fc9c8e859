import os
from pathlib import Path

import pytest

from gpt2eval.testing import save_tiny_gpt2

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
# What a test run may change in the checkout: caches of the tools that run it.
NOT_CHECKOUT = {".venv", ".git", "__pycache__", ".pytest_cache", "build", "dist"}
CHECKOUT = pytest.StashKey[dict]()

# Tests over whole real files, wheel builds and the CI baseline: `make test` runs them,
# `make test-fast` (pytest -m "not slow") leaves them out to stay under a minute.
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


@pytest.fixture(scope="session")
def data_dir() -> Path:
    if not SHARED_DATA.is_dir():
        if os.environ.get("CI"):  # CI always has ../shared beside the clone: never pass by skipping
            pytest.fail(f"real test data not found at {SHARED_DATA}")
        pytest.skip(f"real test data not found at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory) -> Path:
    """A tiny random GPT-2 (context 128) with the real tokenizer, saved to disk."""
    return save_tiny_gpt2(tmp_path_factory.mktemp("tiny-gpt2") / "tiny-gpt2")


@pytest.fixture(scope="session")
def bert_dir(tmp_path_factory):
    """A tiny BERT masked LM saved by transformers: AutoModelForCausalLM loads it (with a warning)."""
    import torch
    from transformers import BertConfig, BertForMaskedLM

    from gpt2eval.testing import gpt2_tokenizer

    torch.manual_seed(0)
    config = BertConfig(vocab_size=50257, hidden_size=64, num_hidden_layers=2, num_attention_heads=4,
                        intermediate_size=128, max_position_embeddings=128)
    path = tmp_path_factory.mktemp("bert") / "bert"
    BertForMaskedLM(config).save_pretrained(path)
    gpt2_tokenizer().save_pretrained(path)
    return path


@pytest.fixture(scope="session")
def report_runs(tiny_model_dir, data_dir, tmp_path_factory):
    """Result folders for the report tests (tests/report_runs.py), built once a session."""
    from report_runs import make_runs

    return make_runs(tmp_path_factory.mktemp("report-runs"), tiny_model_dir, data_dir)
