"""Normalised n-grams, their stable 64-bit hashes, and the Bloom filter that holds them.

Normalisation is the GPT-2 paper's (section 4): "strings were normalized to contain only
lower-cased alphanumeric words with a single space as a delimiter". Here: ``text.lower()``,
then the maximal runs of Unicode letters and digits (``[^\\W_]+``) are the words, so
punctuation, underscores and line breaks all separate words (``Don't`` -> ``don t``).

An n-gram's hash must be the same in every process, since the filter is kept on disk and
queried later: Python's ``hash()`` of a ``str`` is salted per process (PYTHONHASHSEED),
so it cannot be used. Each word is hashed with xxh3-64 of its UTF-8 bytes, and the n word
hashes of an n-gram are combined as a polynomial (order matters) and mixed by the
splitmix64 finaliser, all in uint64 numpy arithmetic (wrapping mod 2**64)::

    words   w0 w1 w2 w3 ...            h_i = xxh3_64(w_i)             (W,)
    n-gram  g_i = (w_i, ..., w_{i+n-1})
    hash    mix(((h_i * M + h_{i+1}) * M + ...) + h_{i+n-1})          (W - n + 1,)

A 64-bit fingerprint makes two different n-grams collide with probability 2**-64, so
after N insertions it adds at most N / 2**64 to the false-positive rate (5e-10 for 10**10
n-grams, WebText's order of magnitude): far below the filter's 1e-8.

The filter is rbloom's ``Bloom`` (Rust core, saves and loads its bit array as a file),
holding those hashes as Python ints with ``hash_func=int``: rbloom seeds its k probe
positions from the item's hash, so an int that already is a stable hash goes in as it
is. It is sized with ``expected_items`` = the number of n-grams that will be inserted
(counted first), for a false-positive rate of at most ``TARGET_FPR`` (the paper's 1e-8),
and ``fpr_bound`` checks the bound from the filter's actual size, probes and count.
"""
from __future__ import annotations

import hashlib
import json
import math
import re
import sys
from pathlib import Path

import numpy as np

from gpt2eval.errors import UsageError

WORD = re.compile(r"[^\W_]+")
TARGET_FPR = 1e-8  # the paper: "false positive rate is upper bounded by 1/10^8"
HASH_SCHEME = "xxh3_64(word utf-8) polynomial x 0x9E3779B97F4A7C15, splitmix64 finaliser"
NORMALISATION = "lower-cased; words = runs of Unicode letters and digits ([^\\W_]+); single spaces"
_M = np.uint64(0x9E3779B97F4A7C15)
_C1, _C2 = np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB)


def normalise(text: str) -> list[str]:
    """The paper's normalised words: lower-cased alphanumeric runs."""
    return WORD.findall(text.lower())


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser: every output bit depends on every input bit."""
    x = x ^ (x >> np.uint64(30))
    x = x * _C1
    x = x ^ (x >> np.uint64(27))
    x = x * _C2
    return x ^ (x >> np.uint64(31))


def word_hashes(words: list[str]) -> np.ndarray:
    from xxhash import xxh3_64_intdigest

    return np.fromiter((xxh3_64_intdigest(w.encode("utf-8")) for w in words), dtype=np.uint64, count=len(words))


def ngram_hashes(words: list[str], n: int, starts: np.ndarray | None = None) -> np.ndarray:
    """int64 hashes of the n-grams of ``words``, in order: ``(len(words) - n + 1,)``.

    ``starts`` (bool, one per word) marks words that begin a new document: an n-gram
    that would cross into one is left out.
    """
    m = len(words) - n + 1
    if m <= 0:
        return np.empty(0, dtype=np.int64)
    h = word_hashes(words)  # (W,)
    acc = np.zeros(m, dtype=np.uint64)  # (W - n + 1,)
    with np.errstate(over="ignore"):
        for k in range(n):
            acc = acc * _M + h[k : k + m]
        out = _mix(acc).view(np.int64)
    if starts is not None:
        inside = np.concatenate([[0], np.cumsum(starts[1:], dtype=np.int64)])  # document starts after word 0
        out = out[inside[n - 1 :] == inside[:m]]  # no start among words i+1 .. i+n-1
    return out


def fpr_bound(size_bits: int, k: int, n_items: int) -> float:
    """A Bloom filter's false-positive rate after ``n_items`` distinct insertions.

    (1 - exp(-k n / m))^k, the standard approximation; inserting fewer distinct items
    (repeated n-grams) only lowers it.
    """
    if n_items == 0:
        return 0.0
    return (1.0 - math.exp(-k * n_items / size_bits)) ** k


class NgramFilter:
    """n-gram hashes in an rbloom Bloom filter, with a JSON sidecar saying what it holds."""

    def __init__(self, bloom, meta: dict):
        self.bloom, self.meta = bloom, meta

    @classmethod
    def create(cls, capacity: int, n: int, target: float = TARGET_FPR) -> "NgramFilter":
        from rbloom import Bloom

        capacity = max(1, capacity)
        # rbloom rounds k down and the size up to 64 bits: ask a little lower, check the bound.
        rate = target
        for _ in range(20):
            bloom = Bloom(capacity, rate, int)
            k = rbloom_hashes(capacity, rate)
            if fpr_bound(bloom.size_in_bits, k, capacity) <= target:
                break
            rate *= 0.9
        assert fpr_bound(bloom.size_in_bits, k, capacity) <= target, f"no rbloom filter for {capacity:,} items meets {target}"
        meta = {
            "format": "gpt2eval-ngram-filter/1", "n": n, "normalisation": NORMALISATION, "hash": HASH_SCHEME,
            "library": "rbloom", "capacity": capacity, "target_false_positive_rate": target, "requested_rate": rate,
            "size_bits": bloom.size_in_bits, "hashes": k, "n_inserted": 0, "corpus": [],
        }
        return cls(bloom, meta)

    def add(self, hashes: np.ndarray) -> None:
        self.bloom.update(hashes.tolist())
        self.meta["n_inserted"] += int(len(hashes))

    def count(self, hashes: np.ndarray) -> int:
        """How many of ``hashes`` the filter holds (possibly: false positives)."""
        bloom = self.bloom
        return sum(1 for h in hashes.tolist() if h in bloom)

    @property
    def false_positive_bound(self) -> float:
        return fpr_bound(self.meta["size_bits"], self.meta["hashes"], self.meta["n_inserted"])

    def describe(self, path: str | None) -> dict:
        return {**self.meta, "path": path, "size_bytes": self.meta["size_bits"] // 8,
                "false_positive_bound": self.false_positive_bound}

    def save(self, path: Path) -> None:
        """The bit array, then its sidecar with the array file's sha256 (checked by ``load``)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        self.bloom.save(str(path))
        self.meta["sha256"] = file_sha256(path)
        sidecar(path).write_text(json.dumps(self.meta, indent=1) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: Path, n: int) -> "NgramFilter":
        from rbloom import Bloom

        try:
            meta = json.loads(sidecar(path).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            raise UsageError(f"{sidecar(path)} is missing or not JSON: --filter FILE must be a filter built by gpt2eval overlap") from None
        if meta.get("format") != "gpt2eval-ngram-filter/1" or meta.get("hash") != HASH_SCHEME:
            raise UsageError(f"{path} was built by another version of gpt2eval overlap: rebuild it with --corpus")
        if meta["n"] != n:
            raise UsageError(f"{path} holds {meta['n']}-grams, not {n}-grams: pass --n {meta['n']} or rebuild it")
        try:
            bloom = Bloom.load(str(path), int)
        except (OSError, ValueError) as e:
            raise UsageError(f"cannot load the filter {path} ({e}): rebuild it with --corpus") from None
        if bloom.size_in_bits != meta["size_bits"]:
            raise UsageError(f"{path} does not match its {sidecar(path).name}: rebuild it with --corpus")
        if "sha256" not in meta:  # saved before filters carried a checksum
            print(f"warning: {sidecar(path).name} holds no checksum (an older gpt2eval built it): {path} is not verified; "
                  "rebuild it with --corpus to have one", file=sys.stderr)
        elif file_sha256(path) != meta["sha256"]:
            raise UsageError(f"{path} is damaged: its sha256 is not the one its {sidecar(path).name} recorded when it was "
                             "built (a changed bit turns into a wrong percentage): rebuild it with --corpus")
        return cls(bloom, meta)


def sidecar(path: Path) -> Path:
    return Path(str(path) + ".json")


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 24), b""):
            digest.update(block)
    return digest.hexdigest()


def rbloom_hashes(capacity: int, rate: float) -> int:
    """rbloom's number of probes k, computed exactly as it does (pinned by a test)."""
    size = -capacity * math.log(rate) / math.log(2) ** 2
    return int(size / capacity * math.log(2))
