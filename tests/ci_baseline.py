"""The CI regression baseline: a seeded tiny GPT-2 on real data and fixtures.

``results/ci/`` holds what this produces; ``tests/test_ci_baseline.py`` regenerates it and
runs ``gpt2eval compare`` against the committed copy, so any change that moves a number
(a detokenizer rule, the window logic, the stop-word list) fails CI until the baseline is
updated on purpose with ``make update-baseline``.

    python tests/ci_baseline.py OUT_DIR [--shared-data DIR]
"""
from __future__ import annotations

import re
import sys
import tempfile
from pathlib import Path

from click.testing import CliRunner

from gpt2eval.cli import main
from gpt2eval.testing import save_tiny_gpt2

HERE = Path(__file__).resolve().parent
SHARED_DATA = HERE.parents[1] / "shared" / "data"
SPLIT = 5_000_000
# (task, extra options): real data with --limit to stay fast, fixtures for the rest.
RUNS = [
    ("ptb", ["--limit", "300"]),
    ("wikitext2", ["--limit", "2"]),
    ("wikitext103", ["--limit", "2"]),
    ("lambada", ["--limit", "100"]),
    ("1bw", ["--limit", "300"]),
    ("cbt-cn", ["--data-dir", str(HERE / "fixtures" / "cbt")]),
    ("cbt-ne", ["--data-dir", str(HERE / "fixtures" / "cbt")]),
    ("enwik8", ["--data-file", "{work}/enwik8.test", "--limit", "1"]),
    ("text8", ["--data-file", "{work}/text8.test", "--limit", "1"]),
]


def synthetic_splits(shared: Path, work: Path) -> None:
    """5,000,000-unit test splits in each corpus's format, built from real text here.

    enwik8-like: WikiText-2's raw UTF-8 bytes repeated (multi-byte characters included,
    one cut at the end); text8-like: PTB's lower-case words, letters and spaces only.
    """
    raw = (shared / "wikitext-2" / "wiki.test.raw").read_bytes()
    (work / "enwik8.test").write_bytes((raw * (SPLIT // len(raw) + 1))[:SPLIT])
    words = re.findall(r"[a-z]+", (shared / "ptb" / "ptb.test.txt").read_text(encoding="utf-8"))
    text = " ".join(words) + " "
    (work / "text8.test").write_bytes((text * (SPLIT // len(text) + 1))[:SPLIT].encode("ascii"))


MODEL_NAME = "tiny-gpt2-seed0"  # the folder's name is the result's model name


def save_model(path: Path) -> Path:
    """The baseline's model (``path`` must end in ``MODEL_NAME``)."""
    assert path.name == MODEL_NAME, path
    return save_tiny_gpt2(path, seed=0)


def generate(out: Path, shared: Path = SHARED_DATA, tasks: list[str] | None = None, model: Path | None = None) -> list[Path]:
    """Run every task of ``RUNS`` (or only ``tasks``) into ``out/<task>.json``, with the model
    ``save_model`` writes (``model``: one it already wrote)."""
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        model = model or save_model(work / MODEL_NAME)
        if any(task in ("enwik8", "text8") for task, _ in RUNS if tasks is None or task in tasks):
            synthetic_splits(shared, work)
        written = []
        for task, extra in RUNS:
            if tasks is not None and task not in tasks:
                continue
            args = [a.replace("{work}", str(work)) for a in extra]
            if "--data-dir" not in args and "--data-file" not in args:
                args += ["--data-dir", str(shared)]
            path = out / f"{task}.json"
            result = CliRunner().invoke(main, ["run", "--task", task, "--model", str(model), "--batch-size", "8", "--quiet", "--output", str(path), *args])
            if result.exit_code != 0:
                raise RuntimeError(f"{task}: {result.output}")
            written.append(path)
    return written


if __name__ == "__main__":
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "results/ci")
    for path in generate(out):
        print(path)
