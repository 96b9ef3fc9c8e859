"""Click options mirroring the config dataclasses one-to-one, shared by every command."""
from __future__ import annotations

from dataclasses import fields

import click

from gpt2eval.config import ModelConfig
from gpt2eval.errors import UsageError

# lm-eval's and torch's short names for the dtypes.
DTYPE_ALIASES = {"fp32": "float32", "bf16": "bfloat16", "fp16": "float16", "half": "float16"}


LIMIT_HELP = ("Only the first N documents (quick looks; marked † as not comparable). A document is a LAMBADA "
              "passage, a CBT question, a WikiText article, a PTB or 1BW sentence, a 100,000-byte enwik8 or "
              "100,000-character text8 chunk; so --limit 10 is 250 tokens of PTB but 50,701 of WikiText-2. "
              "The run prints the tokens it kept.")


def _dtype(ctx, param, value):
    return DTYPE_ALIASES.get(value, value)


class BatchSize(click.ParamType):
    """A positive int, or ``auto``: the largest batch that fits (gpt2eval.engine.autobatch)."""

    name = "N|auto"

    def convert(self, value, param, ctx):
        if isinstance(value, int) or value == "auto":
            return value
        try:
            size = int(value)
        except ValueError:
            size = 0
        if size < 1:
            self.fail(f"{value!r} is not a positive integer or 'auto'", param, ctx)
        return size


def task_list(task_names, tasks) -> list[str]:
    """The tasks of repeated ``--task`` and comma-separated ``--tasks``, aliases resolved,
    each once, in the order given."""
    from gpt2eval.registry import canonical_name

    return list(dict.fromkeys(canonical_name(t) for t in given_names(task_names, tasks)))


def given_names(task_names, tasks) -> list[str]:
    """The task names as typed (lm-eval's aliases kept: they may imply a preset)."""
    given = [*task_names, *(t for t in (tasks or "").split(","))]
    names = [t.strip() for t in given if t.strip()]
    if not names:
        raise UsageError("no task given: pass --task NAME or --tasks a,b (`gpt2eval tasks` lists them)")
    return names


def model_options(f):
    for option in reversed(
        [
            click.option("--model", default=ModelConfig.model, show_default=True, help="Hub id or local directory."),
            click.option("--revision", default=None, help="Hub revision (branch, tag or commit)."),
            click.option("--device", default="auto", show_default=True, help="auto | cpu | cuda | cuda:N"),
            click.option(
                "--dtype",
                type=click.Choice(["auto", "float32", "bfloat16", "float16", *DTYPE_ALIASES]),
                default="auto",
                show_default=True,
                callback=_dtype,
                help="auto: float32 on CPU, bfloat16 on a GPU that supports it (fp32, bf16, fp16 also accepted).",
            ),
            click.option("--trust-remote-code", is_flag=True, help="Allow code from the model repo to run."),
        ]
    ):
        f = option(f)
    return f


def window_options(f):
    for option in reversed(
        [
            click.option("--max-length", type=int, default=None, help="Window length L [default: model context]."),
            click.option("--stride", type=int, default=None, help="Stride S <= L [default: L, disjoint windows]."),
            click.option("--eos-prefix/--no-eos-prefix", default=None, help="Start streams with <|endoftext|> [default: the preset's; paper: yes]."),
            click.option("--last-window", type=click.Choice(["right", "stride"]), default=None,
                         help="Streams: the final window right-aligned to the end (lm-eval) or at its multiple of the stride, shorter (Megatron-LM) [default: the preset's; paper: right]."),
            click.option("--batch-size", type=BatchSize(), default=1, show_default=True,
                         help="Windows per forward pass, or auto: the largest that fits, halving from 64 (GPU) or 8 (CPU) on out-of-memory."),
        ]
    ):
        f = option(f)
    return f


def data_options(f):
    for option in reversed(
        [
            click.option("--preset", type=click.Choice(["paper", "lm-eval", "megatron", "bflm"]), default=None, help="Fill the options not given as this peer does (bflm: LAMBADA only) [default: paper]."),
            click.option("--data-dir", type=click.Path(file_okay=False), default=None, help="Original files, laid out like shared/data [default: the hub]."),
            click.option("--data-file", type=click.Path(dir_okay=False), default=None, help="One file (task text; pre-split enwik8/text8)."),
            click.option("--limit", type=int, default=None, help=LIMIT_HELP),
            click.option("--detokenizer", type=click.Choice(["default", "none", "megatron"]), default=None, help="none: score the original tokenized text; megatron: Megatron-LM's (not invertible) [default: the preset's; paper: default]."),
            click.option("--unit", default=None, help="Task text: perplexity denominator, word | token | char | byte [default: word]."),
            click.option("--split", default=None, help="CBT: valid | test [default: valid, as the paper]."),
            click.option("--join", default=None, help="1BW: how sentences form the stream."),
            click.option("--stopword-topk", type=int, default=None, help="LAMBADA: first tokens the stop-word filter may try."),
            click.option("--lambada-format", type=click.Choice(["openai", "as-is", "lm-eval", "bflm"]), default=None, help="LAMBADA: openai (curly quotes straightened, \\n prefix) | as-is | lm-eval (lambada_openai's split) | bflm (cut before the last BERT-basic token) [default: openai]."),
            click.option("--stopword-filter", type=click.Choice(["word", "token"]), default=None, help="LAMBADA: word (complete words from the top-k first tokens) | token (bflm) [default: word]."),
            click.option("--stopwords", type=click.Choice(["nltk179", "nltk127"]), default=None, help="LAMBADA: stop-word list [default: nltk179]."),
            click.option("--stopword-steps", type=int, default=None, help="LAMBADA, --stopword-filter token: tokens generated [default: 6, as bflm]."),
            click.option("--lambada-match", type=click.Choice(["bare", "bert"]), default=None, help="LAMBADA: a predicted word is right when, bare: equal without edge punctuation, case counts | bert: lower-cased, punctuation split off as BERT's basic tokenizer does (bflm) [default: bare]."),
            click.option("--word-count", type=click.Choice(["paper", "megatron"]), default=None, help="PTB, WikiText: words of the denominator, paper (words + one per line) | megatron [default: paper]."),
            click.option("--word-divisor", type=click.Choice(["words", "words-1"]), default=None, help="PTB, WikiText: divide the NLL by the words, or by one fewer as Megatron-LM does (its first word has no prediction) [default: words]."),
            click.option("--cbt-join", type=click.Choice(["space", "newline"]), default=None, help="CBT: how the 20 context sentences are joined."),
            click.option("--allow-data-mismatch", is_flag=True, help="Score data whose sha256 differs from the published one (marked † everywhere)."),
            click.option("--exclude-overlap", type=click.Path(dir_okay=False), default=None, help="An overlap JSON (gpt2eval overlap): score only documents that do not overlap."),
        ]
    ):
        f = option(f)
    return f


def run_options(f):
    for option in reversed(
        [
            click.option("--cache/--no-cache", default=True, show_default=True, help="Keep finished work units: a killed run resumes where it stopped."),
            click.option("--cache-dir", type=click.Path(file_okay=False), default=None, help="Where the work-unit cache lives [default: beside the output]."),
            click.option("--unit-tokens", type=click.IntRange(min=1), default=8192, show_default=True, help="Input tokens per work unit (what a kill can lose)."),
        ]
    ):
        f = option(f)
    return f


def build(cls, opts: dict):
    """A config dataclass from the click options that share its field names."""
    return cls(**{f.name: opts[f.name] for f in fields(cls) if f.name in opts})
