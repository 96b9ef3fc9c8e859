"""Result folders for the report tests: two presets, two detokenizers, two tokenizers.

Small on purpose (a few PTB sentences, a few LAMBADA passages, one CBT fixture file) so
that the whole set runs in seconds with the tiny models.
"""
import shutil
from pathlib import Path

from click.testing import CliRunner

from gpt2eval.cli import main
from gpt2eval.testing import save_tiny_bytelevel_gpt2

FIXTURES = Path(__file__).parent / "fixtures"
RUN_NAMES = ("paper", "lm-eval", "none", "bytelevel", "bare")


def gpt2eval(*args) -> str:
    result = CliRunner().invoke(main, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    return result.output


def make_runs(root: Path, model: Path, data_dir: Path) -> dict[str, Path]:
    """{name: results folder}: ``paper`` and ``lm-eval`` (LAMBADA, PTB, CBT; tokens saved),
    ``none`` (PTB undetokenized), ``bytelevel`` (PTB by a model with another tokenizer),
    ``bare`` (PTB without a tokens file); ``paper`` also holds a sensitivity run and an
    overlap result."""
    common = ["--model", model, "--data-dir", data_dir, "--save-tokens", "--quiet", "--no-resume"]
    out = {name: root / name for name in RUN_NAMES}
    for preset in ("paper", "lm-eval"):
        gpt2eval("run", "--tasks", "ptb,lambada", "--limit", 8, "--preset", preset, "--output", out[preset], *common)
        gpt2eval("run", "--task", "cbt-cn", "--model", model, "--data-dir", FIXTURES / "cbt", "--limit", 3, "--preset", preset,
                 "--output", out[preset], "--save-tokens", "--quiet", "--no-resume")
    gpt2eval("run", "--task", "ptb", "--limit", 8, "--detokenizer", "none", "--output", out["none"], *common)
    lines = (data_dir / "ptb" / "ptb.test.txt").read_text().split("\n")
    other = save_tiny_bytelevel_gpt2(root / "tiny-bytelevel", lines, vocab_size=600)
    common[1] = other
    gpt2eval("run", "--task", "ptb", "--limit", 8, "--output", out["bytelevel"], *common)
    out["bare"].mkdir()  # a result without its tokens file
    shutil.copy(out["paper"] / "ptb.json", out["bare"] / "ptb.json")
    # What the report's first page shows when a folder has it: a sensitivity run, an overlap result.
    gpt2eval("sensitivity", "--task", "ptb", "--model", model, "--data-dir", data_dir, "--limit", 2, "--strides", 64,
             "--output", out["paper"] / "sensitivity", "--quiet")
    gpt2eval("overlap", "--task", "ptb", "--data-dir", data_dir, "--limit", 8, "--corpus", data_dir / "ptb" / "ptb.test.txt",
             "--output", out["paper"] / "overlap" / "ptb-self.json")
    return out
