"""lm-eval's task names in gpt2eval against lm-eval 0.4 itself: lambada_openai and wikitext.

Each harness reads the data its own way, so a split error on either side shows:

- lm-eval runs its own task configs, unchanged, on its own datasets (``EleutherAI/lambada_openai``,
  ``EleutherAI/wikitext_document_level`` ``wikitext-2-raw-v1``: its page split), through
  its HF model class;
- gpt2eval runs ``--task lambada_openai`` and ``--task wikitext`` (lm-eval's names, no
  ``--preset``: they imply lm-eval's reading) on the original files of ``--data-dir``
  (or the hub), splitting the pages itself.

Both score the same tiny seeded GPT-2 (``gpt2eval.testing.save_tiny_gpt2``, seed 0). Printed:
how many documents (passages, pages) are the same text on both sides, in order; the
largest relative difference of a document's log-likelihood; and each metric side by side
(target: documents all identical, relative differences <= 1e-6). Exit 1 otherwise.

Needs ``lm_eval`` importable (``pip install 'lm-eval==0.4.*' accelerate`` into your own environment;
not a gpt2eval dependency) and its two datasets: the hub once, or the HF cache with
``HF_DATASETS_OFFLINE=1``.

    .venv/bin/python bench/vs_lm_eval.py [--data-dir ../shared/data] [--limit-lambada N] [--limit-pages N]
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from click.testing import CliRunner

from gpt2eval.cli import main
from gpt2eval.config import DataConfig
from gpt2eval.testing import save_tiny_gpt2

TARGET = 1e-6
TASKS = {"lambada_openai": ("lambada", "text", ("perplexity", "acc")),  # lm-eval task: (ours, doc field, metrics)
         "wikitext": ("wikitext2-lmeval", "page", ("word_perplexity", "byte_perplexity", "bits_per_byte"))}


def lm_eval_side(model_dir: Path, limits: dict) -> dict:
    """{task: (metrics, [(document text, log-likelihood)] in document order)}, lm-eval's own way."""
    from lm_eval import evaluator
    from lm_eval.models.huggingface import HFLM
    from lm_eval.tasks import TaskManager, get_task_dict

    lm = HFLM(pretrained=str(model_dir), device="cpu", batch_size=1, dtype="float32")
    out = {}
    for name, (_, field, _) in TASKS.items():
        res = evaluator.evaluate(lm=lm, task_dict=get_task_dict([name], TaskManager()), limit=limits[name],
                                 bootstrap_iters=0, log_samples=True)
        metrics = {k.split(",")[0]: v for k, v in res["results"][name].items() if k.endswith(",none")}
        samples = sorted(res["samples"][name], key=lambda s: s["doc_id"])
        key = "perplexity" if name == "lambada_openai" else "word_perplexity"  # per doc: ll, or (ll, words)
        docs = [(s["doc"][field], s[key] if name == "lambada_openai" else s[key][0]) for s in samples]
        out[name] = (metrics, docs)
    return out


def gpt2eval_side(model_dir: Path, data_dir: Path | None, work: Path, limits: dict) -> dict:
    """The same, from ``gpt2eval run --task <lm-eval's name>`` and its per-document sums."""
    from gpt2eval.pipeline.evaluate import prepare

    out = {}
    for name, (ours, _, _) in TASKS.items():
        path = work / f"{ours}.json"
        where = ["--data-dir", str(data_dir)] if data_dir else []
        args = ["run", "--task", name, "--model", str(model_dir), *where, "--batch-size", "1", "--quiet", "--no-cache",
                "--output", str(path)] + (["--limit", str(limits[name])] if limits[name] else [])
        result = CliRunner().invoke(main, args)
        if result.exit_code != 0:
            raise SystemExit(f"gpt2eval {name}: {result.output}")
        r = json.loads(path.read_text())
        _, docs = prepare(ours, DataConfig(data_dir=str(data_dir) if data_dir else None, limit=limits[name], preset="lm-eval"))
        nll = r["per_document"]["nll_nats"]
        out[name] = (r["metrics"], [(d.original, -x) for d, x in zip(docs, nll)])
    return out


def rel(a: float, b: float) -> float:
    return abs(a - b) / abs(a) if a else abs(b)


def main_(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data-dir", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data",
                    help="gpt2eval's original files (give '' to read the hub)")
    ap.add_argument("--limit-lambada", type=int, default=None, help="first N passages (default: all 5,153)")
    ap.add_argument("--limit-pages", type=int, default=None, help="first N WikiText-2 pages (default: all 62)")
    args = ap.parse_args(argv)
    try:
        import lm_eval  # noqa: F401
    except ImportError:
        print("lm_eval is not installed: pip install 'lm-eval==0.4.*' accelerate into your own environment first", file=sys.stderr)
        return 2
    limits = {"lambada_openai": args.limit_lambada, "wikitext": args.limit_pages}
    data_dir = args.data_dir if str(args.data_dir) else None
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        model_dir = save_tiny_gpt2(work / "tiny-gpt2-seed0", seed=0)
        theirs = lm_eval_side(model_dir, limits)
        ours = gpt2eval_side(model_dir, data_dir, work, limits)
    from importlib.metadata import version

    print(f"tiny seeded GPT-2 (seed 0), lm-eval {version('lm_eval')} on its own datasets, gpt2eval on "
          f"{data_dir or 'the hub'}; limits: lambada {args.limit_lambada or 'all'}, wikitext pages {args.limit_pages or 'all'}")
    ok = True
    for name, (_, _, metrics) in TASKS.items():
        (their_metrics, their_docs), (our_metrics, our_docs) = theirs[name], ours[name]
        same = sum(a == b for (a, _), (b, _) in zip(their_docs, our_docs))
        worst_doc = max((rel(a, b) for (_, a), (_, b) in zip(their_docs, our_docs)), default=0.0)
        ok &= same == len(their_docs) == len(our_docs) and worst_doc <= TARGET
        print(f"{name}: documents {len(their_docs)} (lm-eval) / {len(our_docs)} (gpt2eval), {same} the same text; "
              f"worst per-document log-likelihood difference {worst_doc:.2e}")
        for m in metrics:
            a, b = their_metrics[m], our_metrics[m]
            ok &= rel(a, b) <= TARGET
            print(f"  {m:<18}{a:>22.12g}{b:>22.12g}{rel(a, b):>12.2e}")
    print(f"target: every document the same, relative differences <= {TARGET:g}: {'OK' if ok else 'FAIL'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main_())
