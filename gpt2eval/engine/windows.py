"""Sliding windows over a token stream: which tokens go in, which targets get scored.

The stream is ``s = [<|endoftext|>] + text_tokens`` (the prefix is optional), so with the
prefix every text token is a target. Target position ``p`` is predicted from input
position ``p - 1``. With window length ``L`` and stride ``S``:

- the first window feeds ``s[0:L]`` and scores its first ``L`` targets (full causal context);
- each later window scores the next ``S`` targets; its inputs are the ``L`` tokens that
  precede its last target, so every target sees at least ``L - S`` tokens of context;
- the final window is right-aligned to the end of the stream and scores what is left
  (``last_window="right"``, lm-eval's rule), or, with ``"stride"`` (Megatron-LM's
  ``tasks/zeroshot_gpt``), it starts where the stride puts it, like every other window,
  and is shorter than ``L`` (Megatron pads it on the right, which no scored target sees).

Example, 10 text tokens ``0..9``, ``L = 4``, ``S = 4`` (lm-eval's ``loglikelihood_rolling``)::

    window 0   INPUT:  EOT   0   1   2        window 1   INPUT:    3   4   5   6
               PRED:     0   1   2   3                   PRED:     4   5   6   7

    window 2   INPUT:    5   6   7   8        (right-aligned; 6 and 7 were scored
               PRED:             8   9         already, so only 8 and 9 count)

The same stream with ``S = 2``: window 0 as above, then inputs ``1 2 3 4`` scoring
``4 5``, inputs ``3 4 5 6`` scoring ``6 7``, inputs ``5 6 7 8`` scoring ``8 9``.
With ``S = 1`` each target ``p`` is conditioned on exactly ``min(p, L)`` tokens.

``last_window="stride"``: window ``k >= 1`` starts at ``k * S`` (Megatron's ``idx *
overlapping_eval``) and scores the targets after the previous window's, so only a final,
short window changes. The stream above, ``L = 4, S = 4``, and 9 tokens with ``S = 3``::

    S = 4   window 2   INPUT:    7   8        S = 3   window 2   INPUT:    5   6   7
                       PRED:     8   9                           PRED:         7   8
            (right-aligned: 5 6 7 8, so 9 saw       (right-aligned: 4 5 6 7; 7 saw
             4 tokens of context; here 2)            3 tokens, here 2; 8 saw 4, here 3)

Megatron streams have no EOT (``--no-eos-prefix``): position 0 is never scored.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Window:
    """Inputs are ``s[start:end]``; the last ``n_scored`` of its predictions are scored.

    The predictions are ``s[start + 1 : end + 1]``, so the scored target positions are
    ``range(end + 1 - n_scored, end + 1)``.
    """

    start: int
    end: int
    n_scored: int

    @property
    def targets(self) -> range:
        return range(self.end + 1 - self.n_scored, self.end + 1)


LAST_WINDOWS = ("right", "stride")


def rolling_windows(n_stream: int, max_length: int, stride: int, last_window: str = "right") -> list[Window]:
    """Windows covering target positions ``1 .. n_stream - 1`` exactly once.

    ``last_window``: ``right`` aligns the final window to the stream's end (``L`` inputs);
    ``stride`` starts it at its multiple of the stride, as Megatron-LM does.
    """
    assert max_length >= 1, f"max_length must be >= 1, got {max_length}"
    assert 1 <= stride <= max_length, f"stride must be in [1, {max_length}], got {stride}"
    assert last_window in LAST_WINDOWS, f"last window {last_window!r} is not one of {LAST_WINDOWS}"
    last_target = n_stream - 1
    if last_target < 1:
        return []
    end = min(max_length, last_target)
    windows = [Window(0, end, end)]
    scored_upto = end
    while scored_upto < last_target:
        last = min(scored_upto + stride, last_target)
        # Only a final, short window differs: ``scored_upto + stride`` is ``last`` elsewhere.
        reach = scored_upto + stride if last_window == "stride" else last
        windows.append(Window(max(0, reach - max_length), last, last - scored_upto))
        scored_upto = last
    check_coverage(windows, n_stream)
    return windows


def check_coverage(windows: list[Window], n_stream: int) -> None:
    """Every target position 1..n_stream-1 is scored exactly once, in order."""
    scored = [p for w in windows for p in w.targets]
    assert scored == list(range(1, n_stream)), (
        f"windows score {len(scored)} targets, expected each of 1..{n_stream - 1} once"
    )
