"""LAMBADA's stop-word search against its scoring pass, on the same passages, in one run.

    /work/venv-lambada/bin/python bench/lambada_search.py [--passages 24 --layers 12 --batch-size 4]
        [--filters word,token] [--threads N] [--repeats N] [--against c158c3b] [--reference] [--profile word|token]

The first ``--passages`` of OpenAI's LAMBADA test set (``../shared/data/lambada``), the
paper preset (openai format), through ``Lambada.evaluate`` (the task's own path, the same
API before and after). The scoring pass alone is ``LM.score_continuations`` of the task's
(context, target) pairs; the search's cost is ``evaluate`` under a filter minus that pass.
The model is a random-init GPT-2 small architecture (``--layers`` of 768 wide, real 50,257
vocabulary, seed 0): the cost does not depend on the weights, but a random model's words
are not a trained model's (the word filter's rounds differ).

Each measurement runs in a fresh process. ``--against REV`` runs the same measurement on
the tree at git revision REV (extracted to a temporary folder, laid out as installed); the
trees alternate ``--repeats`` times, the best time of each kept, and the predicted words
are compared passage by passage. ``--reference`` also runs the
straightforward reference of each search here (``search.rerun``: every step reruns the
growing sequence through ``LM.topk_next``) and compares. ``--profile`` prints the top
operators (torch.profiler, self CPU time) of ``evaluate`` under that filter.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"


def measure(args) -> dict:
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel

    import gpt2eval
    import gpt2eval.tasks.lambada as lambada
    from gpt2eval.config import DataConfig, WindowConfig
    from gpt2eval.engine.lm import LM
    from gpt2eval.models.loading import LoadedModel
    from gpt2eval.testing import gpt2_tokenizer

    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = GPT2LMHeadModel(GPT2Config(n_layer=args.layers)).eval()
    loaded = LoadedModel(model, gpt2_tokenizer(), model.device, torch.float32, 1024, sum(p.numel() for p in model.parameters()))
    lm = LM(loaded, WindowConfig(batch_size=args.batch_size))

    def task(**options):
        return lambada.Lambada(DataConfig(data_dir=str(DATA), limit=args.passages, options=options))

    docs = task().documents()
    pairs = [task().encode(d, lm) for d in docs]
    out = {"gpt2eval": gpt2eval.__file__, "tasks": lambada.__file__, "threads": torch.get_num_threads(),
           "context_tokens": sum(len(c) for c, _ in pairs), "seconds": {}, "words": {}, "nll": {}}
    # Warm-up: the first forward passes of a process pay for allocations and lazy set-up.
    lm.score_continuations(pairs[: args.batch_size])
    for f in args.filters:
        task(stopword_filter=f).evaluate(docs[: args.batch_size], lm)
    start = time.perf_counter()
    scores = lm.score_continuations(pairs)
    out["seconds"]["scoring"] = time.perf_counter() - start
    out["nll"]["scoring"] = [float(s.nll.sum()) for s in scores]
    for f in args.filters:
        t = task(stopword_filter=f)
        start = time.perf_counter()
        t.evaluate(docs, lm)
        out["seconds"][f] = time.perf_counter() - start
        out["words"][f] = [[s["greedy_word"], s["stopword_word"]] for s in t.samples()]
        out["nll"][f] = [s["nll_nats"] for s in t.samples()]
    if args.reference:
        contexts = [ctx or [loaded.start_id] for ctx, _ in pairs]
        for f in args.filters:
            t = task(stopword_filter=f)
            search = t.search()
            results = [search.result(r) for r in search.rerun(lm, contexts)]
            if f == "word":
                out["words"][f + " reference"] = [[p.greedy, p.word] for p in results]
            else:
                read = lambada.bflm_text if t.option("lambada_match") == "bert" else lambada.first_word
                out["words"][f + " reference"] = [[g, read(lm.tokenizer, tokens)] for g, tokens in results]
    if args.profile:
        from torch.profiler import ProfilerActivity, profile

        with profile(activities=[ProfilerActivity.CPU]) as prof:
            task(stopword_filter=args.profile).evaluate(docs, lm)
        out["profile"] = prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=15)
    return out


def tree_at(rev: str, into: Path) -> Path:
    """The repository at ``rev``, laid out as installed: gpt2eval/, gpt2eval/tasks, gpt2eval/detokenizers."""
    src = into / "src"
    src.mkdir()
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", rev], check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(src)], input=archive, check=True)
    site = into / "site"
    (site / "gpt2eval").mkdir(parents=True)
    for entry in (src / "gpt2eval").iterdir():
        (site / "gpt2eval" / entry.name).symlink_to(entry)
    (site / "gpt2eval" / "tasks").symlink_to(src / "tasks")
    (site / "gpt2eval" / "detokenizers").symlink_to(src / "detokenizers")
    return site


def worker(args, site: Path | None, tmp: Path, extras: bool) -> dict:
    """One measurement in a fresh process: this tree's (``site`` None) or the tree laid out at ``site``."""
    result = tmp / "result.json"
    argv = ["--passages", args.passages, "--layers", args.layers, "--batch-size", args.batch_size,
            "--filters", ",".join(args.filters), "--worker", result]
    argv += ["--threads", args.threads] if args.threads else []
    argv += (["--reference"] if args.reference else []) + (["--profile", args.profile] if args.profile else []) if extras else []
    env = {**os.environ, "PYTHONPATH": str(site)} if site else dict(os.environ)
    subprocess.run([sys.executable, __file__, *map(str, argv)], check=True, env=env, cwd=tmp)
    return json.loads(result.read_text())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--passages", type=int, default=24)
    ap.add_argument("--layers", type=int, default=12)
    ap.add_argument("--batch-size", type=int, default=4)
    ap.add_argument("--filters", default="word,token", type=lambda s: s.split(","))
    ap.add_argument("--against", help="a git revision to measure beside this tree")
    ap.add_argument("--threads", type=int, help="torch threads (default: torch's)")
    ap.add_argument("--repeats", type=int, default=1, help="interleaved repeats, best of each kept")
    ap.add_argument("--reference", action="store_true")
    ap.add_argument("--profile", choices=("word", "token"), help="profile evaluate under this filter")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        Path(args.worker).write_text(json.dumps(measure(args)))
        return
    print(f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; load average {os.getloadavg()[0]:.2f}; "
          f"GPT-2 small architecture, {args.layers} layers, random init; batch {args.batch_size}; best of {args.repeats}; "
          f"{args.passages} OpenAI LAMBADA passages, paper preset")
    with tempfile.TemporaryDirectory() as tmp:
        trees = {"this tree": None}
        if args.against:
            trees[args.against] = tree_at(args.against, Path(tmp))
        runs: dict = {}
        for repeat in range(args.repeats):  # the trees alternate, each in its own process; best of each kept
            for name, site in trees.items():
                r = worker(args, site, Path(tmp), extras=repeat == 0 and site is None)
                if name in runs:
                    r["seconds"] = {k: min(v, runs[name]["seconds"][k]) for k, v in r["seconds"].items()}
                    r = {**runs[name], "seconds": r["seconds"]}
                runs[name] = r
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    print("\n| tree | scoring pass (s) | " + " | ".join(f"{f} filter: search (s) | search / scoring" for f in args.filters) + " |")
    print("|---|---|" + "---|---|" * len(args.filters))
    for name, r in runs.items():
        s = r["seconds"]
        cells = " | ".join(f"{s[f] - s['scoring']:.2f} | {(s[f] - s['scoring']) / s['scoring']:.2f}" for f in args.filters)
        print(f"| {name} | {s['scoring']:.2f} | {cells} |")
    mine = runs["this tree"]
    print(f"\n{mine['context_tokens']:,} context tokens; torch threads {mine['threads']}; gpt2eval from {mine['gpt2eval']}")
    for f in args.filters:
        same = mine["nll"][f] == mine["nll"][args.filters[0]]
        print(f"{f}: per-passage NLLs {'bit-identical to' if same else 'DIFFER from'} the {args.filters[0]} filter's")
    for name, r in runs.items():
        if name != "this tree":
            print(f"{name}: gpt2eval from {r['gpt2eval']}, tasks from {r['tasks']}")
            for f in args.filters:
                same = sum(a == b for a, b in zip(mine["words"][f], r["words"][f]))
                print(f"{f} filter: same (greedy, filtered) words as {name} on {same}/{len(mine['words'][f])} passages")
    for f in args.filters:
        if f + " reference" in mine["words"]:
            same = sum(a == b for a, b in zip(mine["words"][f], mine["words"][f + " reference"]))
            print(f"{f} filter: same (greedy, filtered) words as the reference (reruns) on {same}/{len(mine['words'][f])} passages")
    if "profile" in mine:
        print(f"\n{args.profile} filter evaluate, top operators by self CPU time:\n" + mine["profile"])


if __name__ == "__main__":
    main()
