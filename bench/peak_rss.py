"""Peak RSS of scoring a stream at batch 1, 4 and 8, each in its own process, against what it
must hold: the model and the activations of the model's own forward pass over one batch.

    .venv/bin/python bench/peak_rss.py [--layers 12 --windows 8 --batches 1,4,8]

A GPT-2 small architecture (random init, real vocabulary) scores ``--windows`` disjoint
windows of 1,024 WikiText-2 raw tokens. Per batch size, two processes:

- ``body``: the floor. The model's forward over batches of B windows with its output layer
  handed no positions (``logits_to_keep`` = an empty index): embeddings, blocks, final
  norm, every activation a forward pass needs, and no logits.
- ``gpt2eval``: ``LM.score_stream`` at batch B, as a run scores.

``extra`` = gpt2eval's peak - the body's peak: what scoring adds beyond model + activations
(the output layer's chunks, the log-prob chunk, the per-target arrays). The target is
<= 64 MiB at batch 8; before the chunked output layer it was the batch's (B, L, V) float32
logits, 1,571 MiB at batch 8.
"""
import argparse
import json
import resource
import subprocess
import sys
from pathlib import Path

RAW = Path(__file__).resolve().parents[2] / "shared" / "data" / "wikitext-2" / "wiki.test.raw"
MiB = 2**20


def child(layers: int, windows: int, batch: int, what: str, dims: int = 768, heads: int = 12) -> dict:
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel

    from gpt2eval.config import WindowConfig
    from gpt2eval.engine.lm import LM
    from gpt2eval.engine.scoring import stream_spans
    from gpt2eval.models.loading import LoadedModel
    from gpt2eval.testing import gpt2_tokenizer

    tok = gpt2_tokenizer()
    ids = tok.encode(RAW.read_text(encoding="utf-8")[:200_000])[: windows * 1024 - 1]
    torch.manual_seed(0)
    model = GPT2LMHeadModel(GPT2Config(n_layer=layers, n_embd=dims, n_head=heads)).eval()
    n_params = sum(p.numel() for p in model.parameters())
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    if what == "body":
        rows = [list(s.input_ids) for s in stream_spans([tok.eos_token_id] + ids, 1024, 1024)]
        none = torch.zeros(0, dtype=torch.long)
        with torch.inference_mode():
            for lo in range(0, len(rows), batch):
                model(torch.tensor(rows[lo : lo + batch]), use_cache=False, logits_to_keep=none)
        path = "body only"
    else:
        lm = LM(LoadedModel(model, tok, model.device, torch.float32, 1024, n_params), WindowConfig(batch_size=batch))
        lm.score_stream(ids)
        path = lm.engine["output_head"]
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return {"batch": batch, "what": what, "path": path, "rss_before": before, "rss_peak": peak,
            "logits": batch * 1024 * 50257 * 4}


def measure(layers: int, windows: int, batches) -> list[dict]:
    return [{what: in_a_process(layers, windows, batch, what) for what in ("body", "gpt2eval")} for batch in batches]


def in_a_process(layers: int, windows: int, batch: int, what: str, dims: int = 768, heads: int = 12, env=None) -> dict:
    """``child`` in a fresh process (its peak RSS is its own)."""
    cmd = [sys.executable, __file__, f"--layers={layers}", f"--dims={dims}", f"--heads={heads}", f"--windows={windows}",
           f"--child={batch}", f"--what={what}"]
    return json.loads(subprocess.run(cmd, capture_output=True, text=True, check=True, env=env).stdout.splitlines()[-1])


def table(rows) -> str:
    out = ["| batch | RSS after model load (MiB) | body forward: growth (MiB) | gpt2eval: growth (MiB) | extra over the body (MiB) "
           "| output layer | (B, L, V) float32 logits, for scale (MiB) |", "|---|---|---|---|---|---|---|"]
    for got in rows:
        body, ours = got["body"], got["gpt2eval"]
        out.append(f"| {ours['batch']} | {ours['rss_before'] / MiB:.0f} | {(body['rss_peak'] - body['rss_before']) / MiB:.0f} "
                   f"| {(ours['rss_peak'] - ours['rss_before']) / MiB:.0f} | {(ours['rss_peak'] - body['rss_peak']) / MiB:+.0f} "
                   f"| {ours['path']} | {ours['logits'] / MiB:.0f} |")
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--layers", type=int, default=12)
    ap.add_argument("--windows", type=int, default=8)
    ap.add_argument("--batches", default="1,4,8")
    ap.add_argument("--dims", type=int, default=768)
    ap.add_argument("--heads", type=int, default=12)
    ap.add_argument("--child", type=int)
    ap.add_argument("--what", choices=("body", "gpt2eval"))
    args = ap.parse_args()
    if args.child:
        print(json.dumps(child(args.layers, args.windows, args.child, args.what, args.dims, args.heads)))
        return
    print(f"GPT-2 small architecture, {args.layers} layers; {args.windows} windows of 1,024 tokens; float32 on the CPU")
    print(table(measure(args.layers, args.windows, [int(b) for b in args.batches.split(",")])))


if __name__ == "__main__":
    main()
