"""`gpt2eval --help` and `gpt2eval tasks` stay fast: no torch, pandas or numpy at import.

Timing is left to bench/startup.py; what makes them slow is a heavy import, checked here.
"""
import subprocess
import sys

HEAVY = ("torch", "transformers", "datasets", "pandas", "numpy", "matplotlib", "sacremoses")


def imported_after(args: list[str]) -> list[str]:
    probe = (
        "import sys\n"
        "from gpt2eval.cli import main\n"
        f"try: main({args!r})\n"
        "except SystemExit: pass\n"
        f"print(' '.join(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return out.stdout.split("\n")[-2].split()


def test_help_imports_nothing_heavy():
    assert imported_after(["--help"]) == []


def test_tasks_loads_every_task_class_without_heavy_imports():
    assert imported_after(["tasks"]) == []


def test_test_fast_leaves_out_only_the_slow_tests():
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    assert '\ntest-fast: install\n\t$(PYTEST) -m "not slow"\n' in (root / "Makefile").read_text()
    # The files the checks name: collecting all of them imports every test module for nothing.
    files = [f"tests/{name}.py" for name in ("test_cli", "test_scoring", "test_windows", "test_ci_baseline")]
    out = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-m", "not slow", "-p", "no:cacheprovider", *files],
                         cwd=root, capture_output=True, text=True)
    selected = out.stdout
    assert "test_cli.py::test_bad_input_is_one_line_and_exit_2" in selected  # the CLI tests stay
    assert "test_scoring.py::" in selected and "test_windows.py::" in selected  # the engine tests stay
    assert "test_ptb_full_run_has_the_exact_denominator" not in selected
    assert "test_regenerated_baseline_matches_the_committed_one" not in selected
    assert "deselected" in selected


def test_every_slow_entry_names_a_test_that_exists():
    """A renamed test would silently leave `make test-fast`'s list: each entry names a test."""
    import re
    from pathlib import Path

    from conftest import SLOW

    here = Path(__file__).resolve().parent
    for entry in SLOW:
        file, name = entry.split("::")
        name = re.sub(r"\[.*\]$", "", name)
        assert re.search(rf"^def {re.escape(name)}\(", (here / file).read_text(), re.M), f"SLOW names {entry}: no such test"
