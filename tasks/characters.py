"""enwik8 and text8: bits per byte / character on the last 5,000,000 units of each file.

Both files are 100,000,000 units long and split 90M / 5M / 5M::

    offset   0 ........... 90,000,000 ...... 95,000,000 ...... 100,000,000
             |    train    |      valid      |       test       |

The test split is the last ``split_size`` units (a class attribute, so tests can shrink
it). It comes from one of three places, named in the result's ``protocol.source``:
``--data-file`` holding just the split (a "pre-split file") or the whole file;
``--data-dir`` with ``enwik8/enwik8`` / ``text8/text8`` (``.zip``/``.gz`` too); or the hub,
used only when the rebuilt whole file matches the published sha256 byte for byte
(``--allow-data-mismatch`` scores a same-sized rebuild that does not, marked as other
data). ``protocol.split_sha256`` identifies the scored bytes whatever the source.

Hub layouts (no loading script runs; only parquet files are downloaded):

- enwik8: ``LTCB/enwik8`` is a loading script; its parquet export ``refs/convert/parquet``
  has config ``enwik8-raw/train/0000.parquet``: the whole file as one ``text`` row (config
  ``enwik8`` strips lines). Read from the export's commit f31c622 ("enwik8-raw/
  enwik8-train.parquet -> train/0000.parquet", huggingface.co/datasets/enwik8/commit/f31c622...).
- text8: ``afmck/text8`` is parquet on main: ``data/{train,validation,test}-00000-of-00001.parquet``,
  one ``text`` row each (90M / 5M / 5M characters), read from the listing
  huggingface.co/datasets/afmck/text8/tree/main/data (commit 58c74e9). Their concatenation
  must be text8 byte for byte; that was never checked before a user runs it, which is
  what the sha256 check is for.

Documents are fixed chunks of ``chunk_size`` (100,000) units, so the bootstrap resamples
50 chunks; they only group the sums, the stream is scored as one.
"""
from __future__ import annotations

import dataclasses
import hashlib
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from gpt2eval.data.files import find_file, load_hub_column, parquet_files, read_bytes
from gpt2eval.errors import UsageError
from gpt2eval.engine.lm import LM
from gpt2eval.engine.stream import StreamTask

if TYPE_CHECKING:
    import numpy as np
from gpt2eval.engine.task import Document


def last_split(data: bytes, split_size: int, full_size: int) -> bytes:
    """The last ``split_size`` units of the whole file (see the module docstring)."""
    assert len(data) == full_size, f"the whole file has {full_size:,} units, got {len(data):,}"
    assert 0 < split_size <= full_size, f"split_size {split_size:,} does not fit in {full_size:,}"
    return data[full_size - split_size :]


def chunk_bounds(data: bytes, size: int) -> list[tuple[int, int]]:
    """(start, end) byte ranges of about ``size`` bytes, cut only between UTF-8 characters.

    Each cut at ``k * size`` moves forward past at most 3 continuation bytes (0b10xxxxxx),
    so a chunk of valid UTF-8 decodes whole. The ranges tile ``data`` exactly.
    """
    cuts = [0]
    for cut in range(size, len(data), size):
        for _ in range(3):
            if cut < len(data) and data[cut] & 0xC0 == 0x80:
                cut += 1
        if cuts[-1] < cut < len(data):
            cuts.append(cut)
    cuts.append(len(data))
    return [(lo, hi) for lo, hi in zip(cuts, cuts[1:]) if hi > lo]


class CharacterTask(StreamTask):
    """Shared loading for enwik8 and text8; subclasses set the file, sha256 and hub source."""

    reads_data_file = True
    split_size: ClassVar[int] = 5_000_000
    full_size: ClassVar[int] = 100_000_000
    chunk_size: ClassVar[int] = 100_000
    full_sha256: ClassVar[str]  # of the whole uncompressed file, as published
    url: ClassVar[str]  # where to get the whole file
    hub_splits: ClassVar[tuple[str, ...]]  # hub splits that concatenate to the whole file
    hub_id: ClassVar[str]  # the hub dataset, in words, for messages and the result

    def __init__(self, data):
        super().__init__(data)
        self.source: str | None = None
        self.split_sha256: str | None = None

    @property
    def protocol(self) -> dict:
        return {
            **super().protocol,
            "source": self.source,
            "split_sha256": self.split_sha256,
            "document_size": self.chunk_size,
        }

    def split_data(self) -> bytes:
        """The test split's raw bytes, from --data-file, --data-dir or the hub."""
        if self.data.data_file:
            data = read_bytes(Path(self.data.data_file), self.record)
            if len(data) == self.split_size:
                self.source = f"pre-split file ({self.split_size:,} {self.counts}s)"
                return self._split_done(data)
            self._check_whole(data, f"--data-file {self.data.data_file}")
        elif self.data.data_dir:
            data = read_bytes(find_file(self.data.data_dir, self.file, self.name), self.record)
            self._check_whole(data, str(self.record.files[-1]["path"]))
        else:
            data = self._whole_from_hub()
        self.source = f"{self.source or 'full file'}, last {self.split_size:,} {self.counts}s"
        return self._split_done(last_split(data, self.split_size, self.full_size))

    def _split_done(self, split: bytes) -> bytes:
        self.split_sha256 = hashlib.sha256(split).hexdigest()
        return split

    def _check_whole(self, data: bytes, label: str) -> None:
        """A whole file must have the right size; a changed one is a loud warning."""
        if len(data) != self.full_size:
            raise UsageError(
                f"{label} has {len(data):,} bytes, but {self.name} is {self.full_size:,} (whole file) "
                f"or {self.split_size:,} (test split only): get it from {self.url}"
            )
        ok = hashlib.sha256(data).hexdigest() == self.full_sha256
        self.record.files[-1]["checksum"] = "ok" if ok else "mismatch"
        if not ok:
            print(f"warning: {label} does not match the published sha256 of {self.name}: "
                  "results are not comparable to the paper", file=sys.stderr)

    def _whole_from_hub(self) -> bytes:
        """The whole file rebuilt from hub rows; refused unless it is byte-exact."""
        get_it = f"download {self.url}, unzip it to DIR/{self.file} and pass --data-dir DIR"
        parts = [dataclasses.replace(self.hub, split=split) for split in self.hub_splits]
        try:
            data = "".join(row for part in parts for row in load_hub_column(part, self.record)).encode("utf-8")
        except UsageError as e:
            raise UsageError(f"{e}; or {get_it}") from None
        digest = hashlib.sha256(data).hexdigest()
        self.record.hub.update(splits=list(self.hub_splits), data_files=self.hub.data_files, sha256_rebuilt=digest)
        ok = digest == self.full_sha256
        self.record.hub["checksum"] = "ok" if ok else "mismatch"
        if len(data) != self.full_size or not (ok or self.data.allow_data_mismatch):
            raise UsageError(f"the hub copy of {self.name} ({self.hub_id}) is not byte-exact with the original "
                             f"({len(data):,} bytes, sha256 {digest[:12]}...): {get_it}"
                             + ("" if len(data) != self.full_size else "; or --allow-data-mismatch to score it anyway"))
        self.source = f"hub {self.hub_id}, whole file rebuilt (sha256 {'ok' if ok else 'MISMATCH'})"
        return data

    def documents(self) -> list[Document]:
        split = self.split_data()
        docs = [
            Document(id=f"{self.counts}s-{lo}", text=split[lo:hi].decode("utf-8", "surrogateescape"), n_units=hi - lo)
            for lo, hi in chunk_bounds(split, self.chunk_size)
        ]
        assert sum(d.n_units for d in docs) == len(split) == self.split_size, "chunks must tile the split exactly"
        return self.limited(docs)


class Enwik8(CharacterTask):
    """Raw bytes of Wikipedia XML, scored as bytes: bits_per_byte = nll / (n_bytes * ln 2).

    The text is scored exactly as stored; no detokenizer. GPT-2's byte-level BPE has a
    token for each of the 256 bytes, so ``encode_bytes`` can feed ANY byte string, also
    one that is not valid UTF-8 (a character cut by the split boundary or a chunk edge of
    a pre-split file): such bytes become their single-byte tokens instead of being
    dropped or replaced, and the denominator stays exactly 5,000,000 bytes. The tokens
    are decoded back and must give the split's bytes exactly.
    """

    name = "enwik8"
    document_name = "100,000-byte chunk"
    description = "enwik8 test (last 5,000,000 bytes of enwik8), raw bytes, bits per byte"
    metric = "bits_per_byte"
    counts = "byte"
    denominator = 5_000_000
    file = "enwik8/enwik8"
    url = "http://mattmahoney.net/dc/enwik8.zip"
    full_sha256 = "2b49720ec4d78c3c9fabaee6e4179a5e997302b3a70029f30f2d582218c024a8"
    # LTCB/enwik8 is a loading script that datasets>=4 cannot run; its parquet export holds
    # config enwik8-raw: the whole file read as one string (config enwik8 strips lines).
    hub = parquet_files("LTCB/enwik8", "refs/convert/parquet", "text", "train", train="enwik8-raw/train/0000.parquet")
    hub_splits = ("train",)
    hub_id = "LTCB/enwik8 enwik8-raw, parquet export"

    def evaluate(self, docs: list[Document], lm: LM) -> list[dict]:
        """StreamTask.evaluate on bytes: a token belongs to the chunk holding its first byte."""
        import numpy as np  # not at import time: `gpt2eval tasks` stays fast

        chunks = [d.text.encode("utf-8", "surrogateescape") for d in docs]
        ids, starts = encode_bytes(lm, b"".join(chunks))
        scores = lm.score_stream(ids)
        owner = np.searchsorted(np.cumsum([len(c) for c in chunks]), starts, side="right")[lm.first_scored :]
        assert len(owner) == len(scores.nll), f"{len(scores.nll)} scores for {len(owner)} tokens"
        n = len(docs)
        nll = np.bincount(owner, weights=scores.nll, minlength=n)
        n_tokens = np.bincount(owner, minlength=n)
        n_greedy = np.bincount(owner, weights=scores.greedy.astype(np.float64), minlength=n)
        if self.save_tokens:  # the rows' spans count characters of the chunks' text, as everywhere
            from gpt2eval.engine.tokens import stream_rows

            self.token_rows = stream_rows([len(d.text) for d in docs], char_starts("".join(d.text for d in docs), starts), ids,
                                          lm.first_scored, owner, scores.nll, scores.greedy, lm.stream_contexts(len(ids)))
        return [
            {
                "nll_nats": float(nll[i]),
                "n_units": d.n_units,
                "n_tokens": int(n_tokens[i]),
                "n_greedy": int(n_greedy[i]),
                "n_bytes": d.n_units,
            }
            for i, d in enumerate(docs)
        ]


class Text8(CharacterTask):
    """Lower-case letters and single spaces from Wikipedia, scored as is: bits per character."""

    name = "text8"
    document_name = "100,000-character chunk"
    description = "text8 test (last 5,000,000 characters of text8), bits per character"
    metric = "bits_per_char"
    counts = "char"
    denominator = 5_000_000
    file = "text8/text8"
    url = "http://mattmahoney.net/dc/text8.zip"
    full_sha256 = "6e890197040d37d85beb962ae1f041ff1d9a9ca8d20c7d99c85027eebf51dca7"
    # One row per split (90M / 5M / 5M characters); their concatenation is checked
    # against the whole file's sha256, so the test row is used only if it is exact.
    hub = parquet_files("afmck/text8", "main", "text", "test", **{s: f"data/{s}-00000-of-00001.parquet" for s in ("train", "validation", "test")})
    hub_splits = ("train", "validation", "test")
    hub_id = "afmck/text8"

    def split_data(self) -> bytes:
        split = super().split_data()
        other = split.translate(None, b"abcdefghijklmnopqrstuvwxyz ")
        if other:
            raise UsageError(f"this is not text8: {len(other):,} bytes are not a-z or space (e.g. {other[:1]!r})")
        return split


# GPT-2's byte-level alphabet: printable bytes stand for themselves, the other 68 are
# shifted to chr(256 + i), so every byte has a one-character (and one-token) name.
_PRINTABLE = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
BYTE_TO_CHAR = {b: chr(b) for b in _PRINTABLE} | {
    b: chr(256 + i) for i, b in enumerate(b for b in range(256) if b not in _PRINTABLE)
}
CHAR_TO_BYTE = {c: b for b, c in BYTE_TO_CHAR.items()}
_ESCAPED = re.compile("([\udc80-\udcff]+)")  # bytes that surrogateescape could not decode
NEEDS_BYTE_BPE = "enwik8 needs a byte-level BPE tokenizer (GPT-2 style)"


def encode_bytes(lm: LM, data: bytes) -> tuple[list[int], np.ndarray]:
    """Token ids of raw ``data`` and the byte offset where each token starts.

    Valid UTF-8 runs go through the tokenizer as text; each invalid byte becomes its
    single-byte token. The tokens' bytes, concatenated, must be ``data`` exactly.
    """
    import numpy as np  # not at import time: `gpt2eval tasks` stays fast

    vocab = lm.tokenizer.get_vocab()
    ids: list[int] = []
    for i, piece in enumerate(_ESCAPED.split(data.decode("utf-8", "surrogateescape"))):
        if i % 2 == 0:
            ids += lm.encode(piece) if piece else []
        else:
            ids += [_byte_token(vocab, b) for b in piece.encode("utf-8", "surrogateescape")]
    token_bytes = _token_bytes(lm, set(ids))
    if b"".join(token_bytes[t] for t in ids) != data:
        raise UsageError(f"the tokens do not give back the exact bytes: {NEEDS_BYTE_BPE}")
    lengths = np.fromiter((len(token_bytes[t]) for t in ids), dtype=np.int64, count=len(ids))
    return ids, np.cumsum(lengths) - lengths


def char_starts(text: str, byte_starts: np.ndarray) -> np.ndarray:
    """Byte offsets into ``text.encode("utf-8", "surrogateescape")`` as character offsets
    into ``text`` (a token that starts inside a character: that character)."""
    import numpy as np

    if text.isascii():
        return np.asarray(byte_starts, dtype=np.int64)
    widths = np.fromiter((len(c.encode("utf-8", "surrogateescape")) for c in text), dtype=np.int64, count=len(text))
    char_at = np.concatenate([[0], np.cumsum(widths)])  # (len(text) + 1,) byte offset of each character
    return np.searchsorted(char_at, np.asarray(byte_starts, dtype=np.int64), side="right") - 1


def _byte_token(vocab: dict, byte: int) -> int:
    if BYTE_TO_CHAR[byte] not in vocab:
        raise UsageError(f"the tokenizer has no token for byte {byte:#04x}: {NEEDS_BYTE_BPE}")
    return vocab[BYTE_TO_CHAR[byte]]


def _token_bytes(lm: LM, ids: set[int]) -> dict[int, bytes]:
    out = {}
    for t in ids:
        name = lm.tokenizer.convert_ids_to_tokens(t)
        if any(c not in CHAR_TO_BYTE for c in name):
            raise UsageError(f"token {name!r} is not a byte-level BPE token: {NEEDS_BYTE_BPE}")
        out[t] = bytes(CHAR_TO_BYTE[c] for c in name)
    return out
