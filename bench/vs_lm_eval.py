"""`--preset lm-eval` against lm-eval 0.4 itself: LAMBADA (lambada_openai) and WikiText-2 (wikitext).

Installs nothing: needs ``lm_eval`` importable (``pip install 'lm-eval==0.4.*'`` into your
own environment; it is not a gpt2eval dependency). Both sides score the same tiny seeded
GPT-2 (``gpt2eval.testing.save_tiny_gpt2``, seed 0, saved locally) on the same local files:

- lambada_openai: lm-eval's own task config, its dataset pointed at
  ``<data-dir>/lambada/lambada_test.jsonl`` (the rows of EleutherAI/lambada_openai);
- wikitext: lm-eval's own task config and functions (Megatron detokenizer, word and byte
  counts), its dataset pointed at the pages of ``<data-dir>/wikitext-2/wiki.test.raw``
  split as ``EleutherAI/wikitext_document_level`` splits them (that split is the
  dataset's loading script, not lm-eval code: ``gpt2eval.tasks.wikitext_lmeval.lm_eval_pages``).

gpt2eval runs ``--preset lm-eval`` on ``lambada`` and ``wikitext2-lmeval``. Prints both
numbers and the relative difference per metric (target <= 1e-6); exit 1 if any is larger.

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
from gpt2eval.tasks.wikitext_lmeval import lm_eval_pages
from gpt2eval.testing import save_tiny_gpt2

TARGET = 1e-6


def lm_eval_side(model_dir: Path, data_dir: Path, work: Path, limit_lambada, limit_pages) -> dict:
    import yaml
    from lm_eval import evaluator
    from lm_eval.api.task import ConfigurableTask
    from lm_eval.models.huggingface import HFLM
    from lm_eval.tasks.wikitext import preprocess_wikitext

    tasks_dir = Path(preprocess_wikitext.__file__).parent.parent  # lm_eval/tasks/

    def config(path: Path) -> dict:
        text = "\n".join(line for line in path.read_text().splitlines() if "!function" not in line)
        return yaml.safe_load(text)

    lambada = config(tasks_dir / "lambada" / "lambada_openai.yaml")
    lambada.pop("tag", None)
    lambada.update(dataset_path="json", dataset_name=None, dataset_kwargs={"data_files": {"test": str(data_dir / "lambada" / "lambada_test.jsonl")}})

    pages = lm_eval_pages((data_dir / "wikitext-2" / "wiki.test.raw").read_text(encoding="utf-8"))
    pages_file = work / "wikitext2_test_pages.jsonl"
    pages_file.write_text("".join(json.dumps({"page": p}) + "\n" for p in pages), encoding="utf-8")
    wikitext = config(tasks_dir / "wikitext" / "wikitext.yaml")
    wikitext.update(dataset_path="json", dataset_name=None, dataset_kwargs={"data_files": {"test": str(pages_file)}},
                    training_split=None, validation_split=None,
                    doc_to_target=preprocess_wikitext.wikitext_detokenizer, process_results=preprocess_wikitext.process_results)

    lm = HFLM(pretrained=str(model_dir), device="cpu", batch_size=1, dtype="float32")
    out = {}
    for cfg, limit in ((lambada, limit_lambada), (wikitext, limit_pages)):
        task = ConfigurableTask(config=cfg)
        res = evaluator.evaluate(lm=lm, task_dict={cfg["task"]: task}, limit=limit, bootstrap_iters=0)
        out[cfg["task"]] = {k.split(",")[0]: v for k, v in res["results"][cfg["task"]].items() if k.endswith(",none")}
    return out


def gpt2eval_side(model_dir: Path, data_dir: Path, work: Path, limit_lambada, limit_pages) -> dict:
    out = {}
    for task, ours, limit in (("lambada_openai", "lambada", limit_lambada), ("wikitext", "wikitext2-lmeval", limit_pages)):
        path = work / f"{ours}.json"
        args = ["run", "--task", ours, "--preset", "lm-eval", "--model", str(model_dir), "--data-dir", str(data_dir),
                "--batch-size", "1", "--quiet", "--output", str(path)] + (["--limit", str(limit)] if limit else [])
        result = CliRunner().invoke(main, args)
        if result.exit_code != 0:
            raise SystemExit(f"gpt2eval {ours}: {result.output}")
        out[task] = json.loads(path.read_text())["metrics"]
    return out


def main_(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data-dir", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data")
    ap.add_argument("--limit-lambada", type=int, default=None, help="first N passages (default: all 5,153)")
    ap.add_argument("--limit-pages", type=int, default=None, help="first N WikiText-2 pages (default: all 62)")
    args = ap.parse_args(argv)
    try:
        import lm_eval  # noqa: F401
    except ImportError:
        print("lm_eval is not installed: pip install 'lm-eval==0.4.*' into your own environment first", file=sys.stderr)
        return 2
    import torch

    torch.set_num_threads(max(1, torch.get_num_threads()))
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        model_dir = save_tiny_gpt2(work / "tiny-gpt2-seed0", seed=0)
        theirs = lm_eval_side(model_dir, args.data_dir, work, args.limit_lambada, args.limit_pages)
        ours = gpt2eval_side(model_dir, args.data_dir, work, args.limit_lambada, args.limit_pages)
    from importlib.metadata import version

    print(f"tiny seeded GPT-2 (seed 0), lm-eval {version('lm_eval')}, limits: lambada {args.limit_lambada or 'all'}, "
          f"wikitext pages {args.limit_pages or 'all'}")
    print(f"{'task':<16}{'metric':<18}{'lm-eval':>22}{'gpt2eval':>22}{'rel diff':>12}")
    worst = 0.0
    for task, metrics in (("lambada_openai", ("perplexity", "acc")), ("wikitext", ("word_perplexity", "byte_perplexity", "bits_per_byte"))):
        for m in metrics:
            a, b = theirs[task][m], ours[task][m]
            rel = abs(a - b) / abs(a) if a else abs(b)
            worst = max(worst, rel)
            print(f"{task:<16}{m:<18}{a:>22.12g}{b:>22.12g}{rel:>12.2e}")
    print(f"worst relative difference {worst:.2e} (target <= {TARGET:g}): {'OK' if worst <= TARGET else 'FAIL'}")
    return 0 if worst <= TARGET else 1


if __name__ == "__main__":
    sys.exit(main_())
