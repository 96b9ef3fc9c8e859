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
