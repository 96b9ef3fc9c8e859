"""The Makefile passes every user variable to its commands as one shell word, `$` and all.

Each target runs for real in a temporary folder, with stand-ins for python, pip and
gpt2eval that log their arguments, once per (variable, hostile value); `make -n` runs too,
since it still executes `$(shell ...)` and recursive `$(MAKE)` lines. A hostile value
would create SENTINEL if any shell or make ever ran a piece of it.
"""
import re
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MAKEFILE = (ROOT / "Makefile").read_text()
TARGETS = re.search(r"^\.PHONY: (.+)$", MAKEFILE, re.M).group(1).split()
VARIABLES = sorted(set(re.findall(r"^([A-Z][A-Z0-9_]*) \?=", MAKEFILE, re.M)))
HOSTILE = ["x'; touch {s}; '", "$(shell touch {s})", "`touch {s}`", '"; touch {s} #', "a\n touch {s}; $$(touch {s})"]
STUB = "#!/bin/sh\nprintf '%s\\0' \"$(basename \"$0\")\" \"$@\" >> {log}\nprintf '\\036' >> {log}\necho slug\n"
pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")


def workdir(tmp_path: Path) -> dict:
    """A folder holding the Makefile, pyproject.toml and a fake venv whose tools log their argv."""
    shutil.copy(ROOT / "Makefile", tmp_path / "Makefile")
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    venv, log = tmp_path / "venv", tmp_path / "argv.log"
    (venv / "bin").mkdir(parents=True, exist_ok=True)
    for tool in ("python", "pip", "gpt2eval"):
        path = venv / "bin" / tool
        path.write_text(STUB.format(log=log))
        path.chmod(path.stat().st_mode | stat.S_IEXEC)
    (venv / ".installed").touch()
    return {"VENV": str(venv), "PYTHON": str(venv / "bin" / "python"), "log": log}


def make(tmp_path: Path, env: dict, target: str, dry: bool, **variables) -> subprocess.CompletedProcess:
    args = ["make", "--no-print-directory", *(["-n"] if dry else []), target,
            *(f"{k}={v}" for k, v in {"VENV": env["VENV"], "PYTHON": env["PYTHON"], **variables}.items())]
    return subprocess.run(args, cwd=tmp_path, capture_output=True, text=True, timeout=60)


def calls(env: dict) -> list[list[str]]:
    """The argv of every stand-in call so far."""
    if not env["log"].exists():
        return []
    return [c.split("\0")[:-1] for c in env["log"].read_text().split("\036") if c]


@pytest.mark.parametrize("target", [pytest.param(t, marks=[] if t == "sensitivity" else pytest.mark.slow) for t in TARGETS])
def test_no_hostile_value_of_any_variable_is_executed(target, tmp_path):
    assert {"MODEL", "RESULTS", "OUT", "TORCH", "DATA_DIR", "SIZES", "TABLE3_TASKS"} <= set(VARIABLES), VARIABLES
    sentinel = tmp_path / "SENTINEL"
    for variable in VARIABLES:
        for value in HOSTILE:
            for dry in (True, False):
                env = workdir(tmp_path)  # `clean` deletes the venv
                make(tmp_path, env, target, dry, **{variable: value.format(s=sentinel)})
                assert not sentinel.exists(), f"make {'-n ' if dry else ''}{target} {variable}={value!r} ran a command"


@pytest.mark.parametrize("target, variable, option", [
    ("reproduce-table", "MODEL", "--model"), ("reproduce-table", "RESULTS", "--results-dir"),
    ("reproduce-table", "DATA_DIR", "--data-dir"), ("download", "MODEL", "--model"), ("sensitivity", "PRESET", "--preset"),
    ("sensitivity", "MODEL", "--model"),
])
def test_a_value_with_dollar_quotes_and_spaces_arrives_whole(target, variable, option, tmp_path):
    env = workdir(tmp_path)
    value = "a$b $(c) 'd' \"e\""
    done = make(tmp_path, env, target, False, **{variable: value})
    assert done.returncode == 0, done.stderr
    argvs = [argv for argv in calls(env) if argv[0] == "gpt2eval" and argv[1] != "plot"]
    assert argvs and all(argv[argv.index(option) + 1] == value for argv in argvs), argvs


def test_sensitivity_without_out_writes_beside_the_other_results(tmp_path):
    env = workdir(tmp_path)
    done = make(tmp_path, env, "sensitivity", False, RESULTS="my results", TABLE3_TASKS="ptb")
    assert done.returncode == 0, done.stderr
    gpt2eval = [argv for argv in calls(env) if argv[0] == "gpt2eval"]
    assert gpt2eval[0][gpt2eval[0].index("--output") + 1] == "my results/slug/sensitivity"  # slug: the stand-in's model_slug
    assert gpt2eval[-1][:2] == ["gpt2eval", "plot"] and gpt2eval[-1][2] == "my results/slug/sensitivity"
    slug = [argv for argv in calls(env) if argv[0] == "python"]
    assert slug and slug[0][-1] == "gpt2-large", "the folder name comes from gpt2eval's own model_slug"


def test_every_variable_is_kept_out_of_the_recipes_environment():
    listed = re.search(r"^USER_VARIABLES = ((?:.*\\\n)*.*)$", MAKEFILE, re.M).group(1).replace("\\", " ").split()
    assert set(VARIABLES) <= set(listed), set(VARIABLES) - set(listed)
