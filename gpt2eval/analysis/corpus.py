"""Training corpora for `gpt2eval overlap`, streamed: never loaded whole into memory.

A corpus is one or more sources, each read as documents, each document as text pieces:

    plain text (any other name)   the whole file is ONE document (n-grams run across its
                                  lines, so a sentence wrapped over two lines still counts),
                                  read in pieces of about ``PIECE_CHARS`` (1 MB)
    .gz, .xz, .zst                the same, decompressed on the fly (.zst: The Pile's format)
    .jsonl / .jsonl.gz|.xz|.zst   one document per line: the ``--text-field`` of each object
    --corpus-hub DATASET[:CONFIG]:SPLIT:COLUMN
                                  ``datasets.load_dataset(..., streaming=True)``: one document
                                  per row (a local folder of data files works as DATASET)

Counting the n-grams first (``count_ngrams``) reads the corpus twice; ``--capacity``
skips that pass. Bytes that are not UTF-8 are replaced (U+FFFD is no letter, so it only
separates words). A file that is not text at all (``is_text``: NUL bytes, or mostly
invalid UTF-8, in its first 64 KiB once decompressed: an image, a model, a tarball) is
skipped with a warning that counts it, since its "words" would only dilute nothing and
hide a wrong path; a corpus with no n-gram at all is an error, never 0.00%.
"""
from __future__ import annotations

import glob
import gzip
import io
import json
import lzma
import re
import sys
import zlib
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Iterator

import numpy as np

from gpt2eval.errors import UsageError
from gpt2eval.analysis.ngrams import ngram_hashes, normalise

PIECE_CHARS = 1 << 20  # ~1 MB of text per piece of a plain-text document
SNIFF_BYTES = 1 << 16  # what is_text looks at
COMPRESSED = (".gz", ".xz", ".zst")
BATCH_WORDS = 1 << 18  # words hashed per numpy batch: the constant part of the memory
_WORD_CHAR = re.compile(r"[^\W_]")


@dataclass(frozen=True)
class Source:
    kind: str  # text | jsonl | hub
    name: str  # path, or the hub spec
    field: str = "text"  # jsonl: the text field; hub: the column

    def describe(self) -> dict:
        out = asdict(self)
        if self.kind != "hub":
            out["bytes"] = Path(self.name).stat().st_size
        return out


def resolve(corpus: tuple[str, ...], hub: tuple[str, ...], text_field: str = "text") -> list[Source]:
    """Sources from ``--corpus`` paths or globs and ``--corpus-hub`` specs; bad ones fail now,
    files that are not text are left out with one warning that counts them."""
    sources, skipped = [], []
    for given in corpus:
        paths = sorted(glob.glob(given)) if glob.has_magic(given) else [given]
        if not paths:
            raise UsageError(f"--corpus {given}: no file matches")
        for path in paths:
            if not Path(path).is_file():
                raise UsageError(f"--corpus {path}: not a file")
            if not is_text(path):
                skipped.append(path)
                continue
            jsonl = _plain_name(path).endswith(".jsonl")
            sources.append(Source("jsonl" if jsonl else "text", path, text_field))
    if skipped:
        print(f"warning: skipped {len(skipped)} corpus file(s) that are not text (NUL bytes or not UTF-8): "
              f"{', '.join(skipped[:3])}{' ...' if len(skipped) > 3 else ''}", file=sys.stderr)
    if skipped and not sources and not hub:
        raise UsageError(f"--corpus: none of the {len(skipped)} file(s) is text: pass plain text or .jsonl "
                         f"(optionally {', '.join(COMPRESSED)})")
    for spec in hub:
        parts = spec.rsplit(":", 2)
        if len(parts) != 3 or not all(parts):
            raise UsageError(f"--corpus-hub {spec}: expected DATASET[:CONFIG]:SPLIT:COLUMN, e.g. Salesforce/wikitext:wikitext-103-v1:train:text")
        sources.append(Source("hub", spec, parts[2]))
    return sources


def _plain_name(path: str) -> str:
    for suffix in COMPRESSED:
        path = path.removesuffix(suffix)
    return path


def is_text(path: str) -> bool:
    """No NUL byte, and at most 10% of bytes outside valid UTF-8, in the first ``SNIFF_BYTES``."""
    try:
        with _open_binary(path) as f:
            head = f.read(SNIFF_BYTES)
    except READ_ERRORS as e:
        raise UsageError(f"--corpus {path}: cannot read it ({_why(e)}): damaged or truncated?") from None
    if b"\0" in head:
        return False
    bad = len(head) - len(head.decode("utf-8", errors="ignore").encode("utf-8"))
    return bad <= 0.1 * len(head)


def documents(source: Source) -> Iterator[Iterator[str]]:
    """The source's documents, each an iterator of text pieces."""
    if source.kind == "text":
        yield _pieces(source.name)
    elif source.kind == "jsonl":
        try:
            with _open(source.name) as f:
                for i, line in enumerate(f, 1):
                    if line.strip():
                        yield iter([_field(line, source, i)])
        except READ_ERRORS as e:
            raise UsageError(f"--corpus {source.name}: cannot read it ({_why(e)}): damaged or truncated?") from None
    else:
        for text in _hub_rows(source):
            yield iter([text])


def _open_binary(path: str):
    if path.endswith(".gz"):
        return gzip.open(path, "rb")
    if path.endswith(".xz"):
        return lzma.open(path, "rb")
    if path.endswith(".zst"):
        import zstandard

        return zstandard.ZstdDecompressor().stream_reader(open(path, "rb"), read_across_frames=True, closefd=True)
    return open(path, "rb")


def _open(path: str):
    return io.TextIOWrapper(io.BufferedReader(_open_binary(path)) if path.endswith(".zst") else _open_binary(path),
                            encoding="utf-8", errors="replace")


def _read_errors() -> tuple:
    errors = (OSError, EOFError, zlib.error, lzma.LZMAError)
    try:
        import zstandard

        return (*errors, zstandard.ZstdError)
    except ImportError:
        return errors


READ_ERRORS = _read_errors()


def _why(e: BaseException) -> str:
    return str(e).strip().splitlines()[0][:120] if str(e).strip() else type(e).__name__


def _pieces(path: str) -> Iterator[str]:
    """Pieces of about PIECE_CHARS, each cut after a non-word character (no word in two)."""
    try:
        yield from _cut_pieces(path)
    except READ_ERRORS as e:
        raise UsageError(f"--corpus {path}: cannot read it ({_why(e)}): damaged or truncated?") from None


def _cut_pieces(path: str) -> Iterator[str]:
    with _open(path) as f:
        carry = ""
        while piece := f.read(PIECE_CHARS):
            text = carry + piece
            cut = len(text)
            while cut and _WORD_CHAR.match(text, cut - 1):
                cut -= 1
            if cut == 0:  # one word longer than a piece: keep reading
                carry = text
                continue
            carry = text[cut:]
            yield text[:cut]
        if carry:
            yield carry


def _field(line: str, source: Source, i: int) -> str:
    try:
        value = json.loads(line)[source.field]
    except (ValueError, KeyError, TypeError):
        raise UsageError(f"{source.name} line {i}: not a JSON object with a {source.field!r} field (--text-field)") from None
    return value if isinstance(value, str) else ""


def _hub_rows(source: Source) -> Iterator[str]:
    import datasets

    head, split, column = source.name.rsplit(":", 2)
    path, _, config = head.partition(":")
    try:
        rows = datasets.load_dataset(path, config or None, split=split, streaming=True)
    except Exception as e:  # datasets raises many types (ConnectionError, FileNotFoundError, ValueError...)
        raise UsageError(f"--corpus-hub {source.name}: cannot load it ({type(e).__name__}: {str(e)[:120]})") from None
    for row in rows:
        if column not in row:
            raise UsageError(f"--corpus-hub {source.name}: no column {column!r} (has {', '.join(row)})")
        yield row[column] or ""


def count_ngrams(sources: list[Source], n: int) -> int:
    """n-grams in the corpus, counted without hashing: the filter's capacity."""
    total = 0
    for source in sources:
        for pieces in documents(source):
            words = sum(len(normalise(p)) for p in pieces)
            total += max(0, words - n + 1)
    return total


def hash_batches(sources: list[Source], n: int, batch_words: int = BATCH_WORDS) -> Iterator[np.ndarray]:
    """int64 hashes of every n-gram of every document, in batches of about ``batch_words``.

    Documents are packed into one word list with a start mark on each document's first
    word, so that short documents (jsonl lines, hub rows) cost one numpy call per batch,
    not one each; n-grams across a start are dropped. The last n-1 words of a batch are
    carried into the next, so n-grams across a batch edge are kept.
    """
    words: list[str] = []
    starts: list[bool] = []
    for source in sources:
        for pieces in documents(source):
            first = True
            for piece in pieces:
                new = normalise(piece)
                if not new:
                    continue
                words += new
                starts += [first] + [False] * (len(new) - 1)
                first = False
                if len(words) >= batch_words:
                    yield ngram_hashes(words, n, np.array(starts))
                    keep = len(words) - (n - 1)
                    words, starts = words[keep:], starts[keep:]
    if words:
        yield ngram_hashes(words, n, np.array(starts))
