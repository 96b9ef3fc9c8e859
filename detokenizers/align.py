"""Where each character of a detokenized text came from in the original text.

The detokenizers are ``str -> str`` functions that mostly delete characters (spaces,
``@`` of ``@-@``) and sometimes replace a few (PTB ``#`` -> ``£``, Megatron's ``N`` ->
``1``, LAMBADA's curly quotes -> ``"``, an inserted leading "\\n"). ``boundaries(text,
original)`` maps every boundary of ``text`` to one of ``original``, so that a token that
covers ``text[a:b]`` covers ``original[B[a]:B[b]]``::

    original   " He had a guest @-@ starring role . "
    text        "He had a guest-starring role."
    token       "He" " had" " a" " guest" "-"     "star" "ring" " role" "."
    original   " He" " had" " a" " guest" " @-@" " star" "ring" " role" " . "

``B`` is non-decreasing with ``B[0] = 0`` and ``B[len(text)] = len(original)``, so the
spans of consecutive tokens tile the original: no character is lost or counted twice.

How it is computed, in three steps:

1. Spaces and tabs are set aside on both sides; the remaining characters are matched
   left to right. Where they differ, the nearest resynchronisation point is searched:
   the smallest ``di + dj`` such that ``ANCHOR`` characters agree again at ``text[i+di]``
   and ``original[j+dj]`` (or both ends are reached), within ``WINDOW`` characters. The
   skipped stretches form a replaced block (``"-"`` <-> ``"@-@"``, ``"1"`` <-> ``"N"``);
   if none is found, the rest of the text is one block.
2. Each original character is assigned a text position: matched characters their match;
   a block's characters are spread over the block's text side in proportion; a
   character with no counterpart (a block whose text side is empty) joins the nearest
   assigned character of its own original word, the previous one first; a space joins
   the next assigned character (the last ones the previous): GPT-2's tokens carry their
   leading space, so " role" takes the space before "role" in the original too.
3. ``B[i]`` is the first original character assigned to text position ``i`` or later.

Linear in the text length apart from the searches at mismatches, which are bounded by
``WINDOW**2`` and rare: WikiText-103's test file aligns in about a second.
"""
from __future__ import annotations

import numpy as np

SKIPPED = " \t"  # set aside before matching (detokenizers add and remove them freely)
ANCHOR = 3  # characters that must agree again after a mismatch
WINDOW = 48  # farthest a resynchronisation point is searched, on each side


def boundaries(text: str, original: str) -> np.ndarray:
    """``B`` (``len(text) + 1`` int64): text boundary ``i`` -> original boundary ``B[i]``."""
    if text == original:
        return np.arange(len(text) + 1, dtype=np.int64)
    owner = assign(text, original)  # (len(original),) text position of each original char
    assert np.all(np.diff(owner) >= 0), "alignment must be monotone"
    out = np.searchsorted(owner, np.arange(len(text) + 1), side="left").astype(np.int64)
    out[-1] = len(original)
    return out


def spans(text: str, original: str, starts, ends) -> tuple[np.ndarray, np.ndarray]:
    """Original ``(start, end)`` of the text spans ``[starts, ends)`` (arrays of positions)."""
    b = boundaries(text, original)
    return b[np.asarray(starts, dtype=np.int64)], b[np.asarray(ends, dtype=np.int64)]


def assign(text: str, original: str) -> np.ndarray:
    """The text position each original character belongs to (step 2 of the docstring)."""
    t_keep, o_keep = ~_skipped(text), ~_skipped(original)
    t_pos, o_pos = np.flatnonzero(t_keep), np.flatnonzero(o_keep)  # where the kept characters are
    owner = np.full(len(original), -1, dtype=np.int64)
    for ti, tj, oi, oj in match(_kept(text), _kept(original)):
        if ti == tj:  # nothing on the text side: left to the word rule below
            continue
        # Equal runs map one to one; a replaced block spreads over its text side in proportion.
        owner[o_pos[oi:oj]] = t_pos[ti + np.arange(oj - oi) * (tj - ti) // (oj - oi)]
    _fill(original, owner)
    return owner


def _codes(text: str) -> np.ndarray:
    """Code points of ``text`` (lone surrogates too): (len(text),) uint32."""
    return np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)


def _kept(text: str) -> str:
    for c in SKIPPED:
        text = text.replace(c, "")
    return text


def _skipped(text: str, extra: str = "") -> np.ndarray:
    codes = _codes(text)
    out = np.zeros(len(codes), dtype=bool)
    for c in SKIPPED + extra:
        out |= codes == ord(c)
    return out


def match(t: str, o: str) -> list[tuple[int, int, int, int]]:
    """Blocks ``(t_lo, t_hi, o_lo, o_hi)`` that tile both strings in order: equal runs
    (same length, same characters) and replaced stretches between them."""
    blocks, i, j = [], 0, 0
    while i < len(t) and j < len(o):
        k = _common(t, i, o, j)
        if k:
            blocks.append((i, i + k, j, j + k))
            i, j = i + k, j + k
            continue
        di, dj = _resync(t, i, o, j)
        blocks.append((i, i + di, j, j + dj))
        i, j = i + di, j + dj
    if i < len(t) or j < len(o):
        blocks.append((i, len(t), j, len(o)))
    return blocks


def _common(t: str, i: int, o: str, j: int) -> int:
    """Length of the common prefix of ``t[i:]`` and ``o[j:]``, compared in strides."""
    k, step = 0, 256
    while step:
        while t[i + k : i + k + step] == o[j + k : j + k + step] and i + k + step <= len(t) and j + k + step <= len(o):
            k += step
        step //= 4
    while i + k < len(t) and j + k < len(o) and t[i + k] == o[j + k]:
        k += 1
    return k


def _resync(t: str, i: int, o: str, j: int) -> tuple[int, int]:
    """The nearest ``(di, dj)`` where ``ANCHOR`` characters agree again, or both ends."""
    n, m = len(t) - i, len(o) - j
    for s in range(1, 2 * WINDOW + 1):
        for di in range(max(0, s - WINDOW), min(s, WINDOW) + 1):
            dj = s - di
            if di > n or dj > m:
                continue
            a, b = t[i + di : i + di + ANCHOR], o[j + dj : j + dj + ANCHOR]
            if a == b and (len(a) == ANCHOR or (di + len(a) == n and dj + len(b) == m)):
                return di, dj
    return n, m  # no way back within the window: the rest is one replaced block


def _fill(original: str, owner: np.ndarray) -> None:
    """Owners for the original characters left at -1 (no counterpart in the text)."""
    assigned = owner >= 0
    if not assigned.any():
        owner[:] = 0
        return
    # Characters of a word without a counterpart ("@" of "@-@"): the word's previous
    # assigned character, else its next one; spaces, and words with none: the next.
    idx = np.arange(len(owner))
    prev_idx = np.maximum.accumulate(np.where(assigned, idx, -1))
    next_idx = np.minimum.accumulate(np.where(assigned, idx, len(owner))[::-1])[::-1]
    is_space = _skipped(original, "\n")
    word_start = _word_starts(is_space)
    todo = np.flatnonzero(~assigned)
    p, q = prev_idx[todo], next_idx[todo]
    in_word = ~is_space[todo] & (p >= 0) & (p >= word_start[todo])
    has_next = q < len(owner)
    pick = np.where(in_word | ~has_next, p, np.minimum(q, len(owner) - 1))
    owner[todo] = owner[pick]


def _word_starts(is_space: np.ndarray) -> np.ndarray:
    """For each character, the index where its run of non-space characters starts."""
    idx = np.arange(len(is_space))
    starts = np.where(is_space | np.r_[True, is_space[:-1]], idx, 0)
    return np.maximum.accumulate(starts)
