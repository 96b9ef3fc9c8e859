"""GPU throughput of the scorer on the real GPT-2 Large architecture: tokens/s, model FLOP
utilisation, peak memory, float32 vs bfloat16, S = 1024 and 512; then an estimate of the
whole of Table 3 for gpt2-large from those figures.

    .venv/bin/python bench/gpu_mfu.py                      # on a CUDA GPU: ~250k tokens per row
    .venv/bin/python bench/gpu_mfu.py --tiny --device cpu  # a 2-layer model: checks the script runs
    .venv/bin/python bench/gpu_mfu.py --fit                # + the largest batch of 1,024-token windows that fits
    .venv/bin/python bench/gpu_mfu.py --estimate-fit 141   # no GPU: that batch estimated from CPU memory

Random-init weights (36 layers, 1280 dims, 20 heads, the real 50,257 vocabulary): a
forward pass costs the same whatever the weights. The stream is WikiText-2's raw test text
repeated to ``--tokens`` (random ids when the file is not there). MFU = 2 x parameters x
processed tokens / s / the device's dense peak for the dtype (``gpt2eval.models.flops``;
``--peak-tflops`` for a device not in the table); processed tokens include each window's
context, so at S = 512 twice as many tokens run as are scored.

``--fit``: per dtype, the largest batch of full 1,024-token windows scored at every
position that fits, halving from ``--fit-start`` on out-of-memory
(``engine.autobatch.find_batch_size``, what ``--batch-size auto`` does from 512), with the
peak memory of that batch. With the chunked output layer (``engine/head.py``) a row costs
its activations, not its (1,024 x 50,257) logits (196 MiB in float32).

``--estimate-fit GIB`` (no GPU needed): what one 1,024-token window adds to the peak memory of
the model body's forward (what the chunked output layer runs before its chunks), measured
on the CPU as the peak RSS at 1 and 5 windows in two fresh processes (glibc's default
allocator, so freed memory goes back and RSS follows what is live), and from it the largest
batch that would fit in GIB of device memory beside the weights and one
``LOGSOFTMAX_BYTES`` chunk of the output layer. The tensors are the ones a GPU allocates; its
kernels' workspaces and the CUDA context (~0.5 GiB) are not counted, so ``--fit`` on the
device is the measurement, this the plan.
"""
import argparse
import time
from pathlib import Path

import torch

from gpt2eval.config import WindowConfig
from gpt2eval.models.flops import mfu, peak_flops
from gpt2eval.engine.lm import LM
from gpt2eval.models.loading import LoadedModel
from gpt2eval.testing import gpt2_tokenizer

RAW = Path(__file__).resolve().parents[2] / "shared" / "data" / "wikitext-2" / "wiki.test.raw"
# Forward tokens of one gpt2-large Table 3 run, approximate (GPT-2 BPE tokens of each test set,
# S = L; CBT: 2 x 2,000 questions x (~450-token context + 10 x ~12 continuation tokens) shared;
# LAMBADA: 5,153 x ~85 tokens + the word search).
TABLE3_TOKENS = {
    "wikitext2": 290_000, "wikitext103": 290_000, "ptb": 115_000, "1bw": 200_000,
    "enwik8": 1_900_000, "text8": 1_300_000, "lambada": 500_000, "cbt-cn": 1_150_000, "cbt-ne": 1_150_000,
}


def stream(n: int, vocab: int) -> list[int]:
    if RAW.exists():
        ids = gpt2_tokenizer().encode(RAW.read_text(encoding="utf-8"))
        return (ids * (n // len(ids) + 1))[:n]
    return torch.randint(0, vocab, (n,), generator=torch.Generator().manual_seed(0)).tolist()


def run(config, dtype, device, ids, stride, batch, peak):
    from transformers import GPT2LMHeadModel

    torch.manual_seed(0)
    model = GPT2LMHeadModel(config).to(device=device, dtype=dtype).eval()
    n_params = sum(p.numel() for p in model.parameters())
    loaded = LoadedModel(model, gpt2_tokenizer(), torch.device(device), dtype, config.n_positions, n_params)
    lm = LM(loaded, WindowConfig(stride=stride, batch_size=batch))
    lm.score_stream(ids[: 4 * config.n_positions])  # warm-up: kernels, allocator
    lm.scorer.forward_tokens = 0
    cuda = device.startswith("cuda")
    if cuda:
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    start = time.perf_counter()
    scores = lm.score_stream(ids)
    if cuda:
        torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    peak_mem = torch.cuda.max_memory_allocated() / 2**30 if cuda else float("nan")
    name = str(dtype).removeprefix("torch.")
    util = mfu(n_params, lm.forward_tokens, seconds, peak[name] if peak else None)
    del model, loaded, lm
    if cuda:
        torch.cuda.empty_cache()
    return len(scores.nll) / seconds, lm_tokens_per_s(seconds, ids, stride, config.n_positions), util, peak_mem, n_params


def fit(config, dtype, device, start: int) -> tuple[int, float, str]:
    """The largest power-of-two batch of full windows that fits, its peak memory (GiB), the head path."""
    from transformers import GPT2LMHeadModel

    from gpt2eval.engine.autobatch import find_batch_size
    from gpt2eval.engine.scoring import Scorer

    torch.manual_seed(0)
    model = GPT2LMHeadModel(config).to(device=device, dtype=dtype).eval()
    scorer = Scorer(model, 1, pad_id=config.eos_token_id)
    size = find_batch_size(scorer, config.n_positions, config.eos_token_id, start=start)
    cuda = device.startswith("cuda")
    if cuda:
        torch.cuda.reset_peak_memory_stats()
        scorer.batch_size = size
        from gpt2eval.engine.scoring import Span

        scorer.score([Span([config.eos_token_id] * config.n_positions, [config.eos_token_id] * config.n_positions)] * size)
    peak = torch.cuda.max_memory_allocated() / 2**30 if cuda else float("nan")
    path = scorer.head.path
    del model, scorer
    if cuda:
        torch.cuda.empty_cache()
    return size, peak, path


def estimate_fit(config, device_gib: float) -> None:
    """The per-window memory of the body's forward, on the CPU; the batch that GIB would hold."""
    import os

    import peak_rss
    from transformers import GPT2LMHeadModel

    from gpt2eval.engine.scoring import LOGSOFTMAX_BYTES

    # The body's forward over 5 windows of real text, at batch 1 and at batch 5, each in a fresh
    # process on glibc's default allocator (bench/peak_rss.py).
    env = {**os.environ, "GPT2EVAL_CPU_ALLOCATOR": "system"}
    peak = {batch: peak_rss.in_a_process(config.n_layer, 5, batch, "body", config.n_embd, config.n_head, env)["rss_peak"]
            for batch in (1, 5)}
    per_window = (peak[5] - peak[1]) / 4
    MiB = 2**20
    if per_window <= MiB:
        print(f"peak RSS {peak[1] / MiB:.0f} MiB at 1 window, {peak[5] / MiB:.0f} at 5: a window's memory is below "
              "what RSS resolves on this model; nothing to estimate")
        return
    with torch.device("meta"):
        weights = sum(4 * p.numel() for p in GPT2LMHeadModel(config).parameters())
    free = device_gib * 2**30 - weights - LOGSOFTMAX_BYTES
    print(f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; estimate on the CPU, float32, {config.n_layer} layers x "
          f"{config.n_embd} dims; the body's forward (the output layer: one {LOGSOFTMAX_BYTES >> 20} MiB chunk on a GPU)")
    print("| body peak RSS, 1 window (MiB) | 5 windows (MiB) | per window (MiB) | weights (GiB) | device (GiB) "
          "| estimated largest batch of 1,024-token windows |\n|---|---|---|---|---|---|")
    print(f"| {peak[1] / MiB:.0f} | {peak[5] / MiB:.0f} | {per_window / MiB:.0f} | "
          f"{weights / 2**30:.2f} | {device_gib:g} | ~{int(free // per_window)} (bfloat16: about twice) |")
    logits = config.n_positions * config.vocab_size * 4
    print(f"\nWith the (B, 1,024, 50,257) float32 logits a window would add {logits / MiB:.0f} MiB more: "
          f"~{int(free // (per_window + logits))} windows. Measure on the device: bench/gpu_mfu.py --fit.")


def lm_tokens_per_s(seconds, ids, stride, L):
    from gpt2eval.engine.scoring import stream_spans

    return sum(len(s.input_ids) for s in stream_spans([0] + ids, L, stride)) / seconds


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tokens", type=int, default=250_000)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--dtypes", default="float32,bfloat16")
    ap.add_argument("--strides", default="1024,512")
    ap.add_argument("--peak-tflops", type=float, help="the device's dense peak for every dtype (overrides the table)")
    ap.add_argument("--tiny", action="store_true", help="2 layers, 64 dims, 4,000 tokens: a quick check on a CPU")
    ap.add_argument("--fit", action="store_true", help="also the largest batch of full windows that fits, per dtype")
    ap.add_argument("--fit-start", type=int, default=4096)
    ap.add_argument("--estimate-fit", type=float, metavar="GIB",
                    help="only estimate, on the CPU, the largest batch that GIB of device memory holds (H200: 141)")
    args = ap.parse_args()
    from transformers import GPT2Config

    if args.tiny:
        config, args.tokens = GPT2Config(n_layer=2, n_embd=64, n_head=4), min(args.tokens, 4_000)
    else:
        config = GPT2Config(n_layer=36, n_embd=1280, n_head=20)  # gpt2-large
    if args.estimate_fit is not None and args.estimate_fit <= 0:
        ap.error("--estimate-fit takes the device's memory in GiB, > 0 (an H200: 141)")
    if args.estimate_fit:
        estimate_fit(config, args.estimate_fit)
        return
    device_name = torch.cuda.get_device_name(args.device) if args.device.startswith("cuda") else "cpu"
    dtypes = args.dtypes.split(",")
    peak = {d: args.peak_tflops * 1e12 for d in dtypes} if args.peak_tflops else {d: peak_flops(device_name, d) for d in dtypes}
    if args.fit:
        print("| dtype | largest batch of 1,024-token windows that fits | its peak memory (GiB) | output layer |\n|---|---|---|---|")
        for dtype in dtypes:
            size, mem, path = fit(config, getattr(torch, dtype), args.device, args.fit_start)
            print(f"| {dtype} | {size} | {mem:.1f} | {path} |")
        print()
    ids = stream(args.tokens, config.vocab_size)
    print(f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; {device_name}; torch {torch.__version__}; "
          f"{'tiny' if args.tiny else 'GPT-2 Large'} architecture, random init; {len(ids):,} tokens; batch {args.batch_size}")
    print("| dtype | S | scored tokens/s | processed tokens/s | MFU | peak memory (GiB) |\n|---|---|---|---|---|---|")
    best = {}
    for dtype in dtypes:
        for stride in map(int, args.strides.split(",")):
            tps, processed, util, mem, n_params = run(config, getattr(torch, dtype), args.device, ids, stride, args.batch_size, peak)
            best[(dtype, stride)] = processed
            util_s = f"{100 * util:.1f}%" if util is not None else "n/a (peak unknown)"
            print(f"| {dtype} | {stride} | {tps:,.0f} | {processed:,.0f} | {util_s} | {mem:.2f} |")
    total = sum(TABLE3_TOKENS.values())
    print(f"\nTable 3 for gpt2-large, ~{total / 1e6:.1f}M forward tokens (approximate counts in bench/gpu_mfu.py), S = 1024:")
    for dtype in dtypes:
        if (dtype, 1024) in best:
            print(f"  {dtype}: ~{total / best[(dtype, 1024)]:.0f} s of model time at {best[(dtype, 1024)]:,.0f} processed tokens/s")


if __name__ == "__main__":
    main()
