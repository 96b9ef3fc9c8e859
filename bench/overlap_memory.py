"""Peak memory and speed of building an n-gram Bloom filter from a large text corpus.

`gpt2eval overlap` streams its corpus: memory should be the filter's bit array plus a
constant (one ~1 MB piece of text and one batch of 262,144 words with their hashes), whatever
the corpus size. This bench writes a synthetic corpus of --size bytes under /tmp (words
drawn from a Zipf-like 50,000-word vocabulary, lines of 5-30 words), then builds the
filter in a fresh subprocess at two sizes, --size / 8 and --size, and reports for each:
the n-grams, the filter size, the child's peak RSS, RSS minus filter (the constant), and
n-grams per second of the counting pass and of the hashing + insertion pass. The corpus
and filters are deleted afterwards.

    .venv/bin/python bench/overlap_memory.py                 # 1 GB (minutes: Bloom
                                                             # insertion is ~26 random
                                                             # memory probes per n-gram)
    .venv/bin/python bench/overlap_memory.py --size 100M     # a quick look
"""
from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

CHILD = r"""
import json, sys, time
from pathlib import Path
from gpt2eval.analysis.corpus import count_ngrams, hash_batches, resolve
from gpt2eval.analysis.ngrams import NgramFilter
path, n, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
sources = resolve((path,), ())
t0 = time.perf_counter(); count = count_ngrams(sources, n); t1 = time.perf_counter()
filt = NgramFilter.create(count, n)
print(f"  {count:,} n-grams counted in {t1 - t0:.0f}s; filter {filt.meta['size_bits'] / 8e6:.1f} MB, inserting...", file=sys.stderr, flush=True)
for hashes in hash_batches(sources, n):
    filt.add(hashes)
t2 = time.perf_counter()
filt.save(Path(out))
print(json.dumps({"n_ngrams": count, "n_inserted": filt.meta["n_inserted"], "filter_bytes": filt.meta["size_bits"] // 8,
                  "count_s": t1 - t0, "build_s": t2 - t1, "fpr_bound": filt.false_positive_bound}))
"""


def parse_size(text: str) -> int:
    units = {"K": 10**3, "M": 10**6, "G": 10**9}
    text = text.strip().upper()
    return int(float(text[:-1]) * units[text[-1]]) if text[-1] in units else int(text)


def write_corpus(path: Path, size: int, seed: int = 0) -> None:
    """Synthetic English-like text: Zipf word frequencies, 2-10 letter words."""
    rng = np.random.default_rng(seed)
    lengths = rng.integers(2, 11, size=50_000)
    letters = rng.integers(ord("a"), ord("z") + 1, size=int(lengths.sum()), dtype=np.uint8).tobytes().decode()
    vocab = np.array([letters[a : a + k] for a, k in zip(np.cumsum(lengths) - lengths, lengths)])
    p = 1.0 / np.arange(1, len(vocab) + 1)
    p /= p.sum()
    written = 0
    with open(path, "w", encoding="ascii") as f:
        while written < size:
            words = rng.choice(vocab, size=200_000, p=p).tolist()
            ends = set(np.cumsum(rng.integers(5, 31, size=20_000)).tolist())
            text = "".join(w + ("\n" if i in ends else " ") for i, w in enumerate(words, 1))
            text = text[: size - written]
            f.write(text)
            written += len(text)


def build_in_child(corpus: Path, n: int, out: Path) -> dict:
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    proc = subprocess.run([sys.executable, "-c", CHILD, str(corpus), str(n), str(out)], stdout=subprocess.PIPE, text=True, check=True)  # progress on stderr
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    assert peak_kb >= before, "RUSAGE_CHILDREN keeps the largest child: build the small corpus first"
    return {**json.loads(proc.stdout.strip().splitlines()[-1]), "peak_rss_bytes": peak_kb * 1024}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", default="1G", help="corpus size in bytes (K/M/G suffixes) [1G]")
    ap.add_argument("--n", type=int, default=8)
    args = ap.parse_args()
    size = parse_size(args.size)
    tmp = Path(tempfile.mkdtemp(prefix="overlap-bench-", dir="/tmp"))
    try:
        print(f"{'corpus':>10} {'n-grams':>13} {'filter MB':>10} {'peak RSS MB':>12} {'RSS-filter MB':>14} "
              f"{'count n-grams/s':>16} {'build n-grams/s':>16}")
        for part in (size // 8, size):
            corpus = tmp / f"corpus-{part}.txt"
            t = time.perf_counter()
            write_corpus(corpus, part)
            gen_s = time.perf_counter() - t
            r = build_in_child(corpus, args.n, tmp / "filter.bloom")
            mb = 1e6
            print(f"{part / mb:>8.0f}MB {r['n_inserted']:>13,} {r['filter_bytes'] / mb:>10.1f} {r['peak_rss_bytes'] / mb:>12.1f} "
                  f"{(r['peak_rss_bytes'] - r['filter_bytes']) / mb:>14.1f} {r['n_ngrams'] / r['count_s']:>16,.0f} "
                  f"{r['n_inserted'] / r['build_s']:>16,.0f}   (generated in {gen_s:.0f}s, counted in {r['count_s']:.0f}s, "
                  f"built in {r['build_s']:.0f}s, FPR bound {r['fpr_bound']:.1e})", flush=True)
            corpus.unlink()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
