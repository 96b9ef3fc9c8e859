"""Regression check: today's numbers against the committed baseline in results/ci/.

A change that moves any metric (a detokenizer rule, the windows, the stop-word list)
fails here until the baseline is regenerated on purpose: ``make update-baseline``.
"""
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from ci_baseline import MODEL_NAME, RUNS, generate, save_model
from conftest import built_once
from gpt2eval.cli import main

BASELINE = Path(__file__).resolve().parents[1] / "results" / "ci"


def test_committed_baseline_covers_every_run():
    assert sorted(p.stem for p in BASELINE.glob("*.json")) == sorted(task for task, _ in RUNS)


@pytest.fixture(scope="session")
def baseline_model(tmp_path_factory):
    return built_once(tmp_path_factory, f"ci-baseline/{MODEL_NAME}", save_model)


@pytest.mark.parametrize("task", [task for task, _ in RUNS])
def test_regenerated_baseline_matches_the_committed_one(task, data_dir, baseline_model, tmp_path):
    """One task per test, so that pytest-xdist spreads the nine runs over the workers."""
    generate(tmp_path / "new", data_dir, tasks=[task], model=baseline_model)
    (tmp_path / "base").mkdir()
    shutil.copy(BASELINE / f"{task}.json", tmp_path / "base")
    result = CliRunner().invoke(main, ["compare", str(tmp_path / "base"), str(tmp_path / "new")])
    assert result.exit_code == 0, result.output
    assert f"{task}" in result.output, result.output
