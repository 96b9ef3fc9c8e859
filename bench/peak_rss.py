"""Peak RSS of scoring a stream at batch 1 and batch 8, each in its own process, against
what it must hold: the model, the (B, L, V) logits of one batch, the log-prob chunk.

    .venv/bin/python bench/peak_rss.py [--layers 12 --windows 8]

A GPT-2 small architecture (random init, real vocabulary) scores ``--windows`` disjoint
windows of 1,024 WikiText-2 raw tokens.
"""
import argparse
import json
import resource
import subprocess
import sys
from pathlib import Path

RAW = Path(__file__).resolve().parents[2] / "shared" / "data" / "wikitext-2" / "wiki.test.raw"
MiB = 2**20


def child(layers: int, windows: int, batch: int) -> dict:
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel

    from gpt2eval.config import WindowConfig
    from gpt2eval.engine.lm import LM
    from gpt2eval.models.loading import LoadedModel
    from gpt2eval.engine.scoring import CACHE_ROWS
    from gpt2eval.testing import gpt2_tokenizer

    tok = gpt2_tokenizer()
    ids = tok.encode(RAW.read_text(encoding="utf-8")[:200_000])[: windows * 1024 - 1]
    torch.manual_seed(0)
    model = GPT2LMHeadModel(GPT2Config(n_layer=layers)).eval()
    n_params = sum(p.numel() for p in model.parameters())
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    lm = LM(LoadedModel(model, tok, model.device, torch.float32, 1024, n_params), WindowConfig(batch_size=batch))
    lm.score_stream(ids)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return {"batch": batch, "model": n_params * 4, "rss_before": before, "rss_peak": peak,
            "logits": batch * 1024 * 50257 * 4, "chunk": CACHE_ROWS * 50257 * 4}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--layers", type=int, default=12)
    ap.add_argument("--windows", type=int, default=8)
    ap.add_argument("--child", type=int)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(child(args.layers, args.windows, args.child)))
        return
    print(f"GPT-2 small architecture, {args.layers} layers; {args.windows} windows of 1,024 tokens; float32 on the CPU")
    print("| batch | RSS after model load (MiB) | peak RSS (MiB) | growth (MiB) | of which logits (B, L, V) | log-prob chunk |")
    print("|---|---|---|---|---|---|")
    for batch in (1, 8):
        cmd = [sys.executable, __file__, f"--layers={args.layers}", f"--windows={args.windows}", f"--child={batch}"]
        r = json.loads(subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.splitlines()[-1])
        print(f"| {batch} | {r['rss_before'] / MiB:.0f} | {r['rss_peak'] / MiB:.0f} | {(r['rss_peak'] - r['rss_before']) / MiB:.0f} "
              f"| {r['logits'] / MiB:.0f} | {r['chunk'] / MiB:.0f} |")


if __name__ == "__main__":
    main()
