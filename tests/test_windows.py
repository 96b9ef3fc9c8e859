"""Gold tests for the rolling windows (see the drawing in gpt2eval/windows.py)."""
import math

import pytest

from gpt2eval.engine.scoring import stream_spans
from gpt2eval.engine.windows import Window, rolling_windows

EOT = -1


def table(tokens, L, S):
    """(inputs, scored targets) per window for the stream [EOT] + tokens."""
    stream = [EOT] + tokens
    return [(list(s.input_ids), list(s.target_ids)) for s in stream_spans(stream, L, S)]


def test_stride_equals_length_is_lm_eval_loglikelihood_rolling():
    # lm-eval's get_rolling_token_windows(range(10), prefix=EOT, max_seq_len=4, context_len=1)
    assert table(list(range(10)), 4, 4) == [
        ([EOT, 0, 1, 2], [0, 1, 2, 3]),
        ([3, 4, 5, 6], [4, 5, 6, 7]),
        ([5, 6, 7, 8], [8, 9]),
    ]


def test_stride_equals_length_exact_multiple():
    assert table(list(range(8)), 4, 4) == [
        ([EOT, 0, 1, 2], [0, 1, 2, 3]),
        ([3, 4, 5, 6], [4, 5, 6, 7]),
    ]


def test_stride_in_between():
    assert table(list(range(10)), 4, 2) == [
        ([EOT, 0, 1, 2], [0, 1, 2, 3]),
        ([1, 2, 3, 4], [4, 5]),
        ([3, 4, 5, 6], [6, 7]),
        ([5, 6, 7, 8], [8, 9]),
    ]


def test_stride_one_gives_every_target_a_full_window():
    assert table(list(range(6)), 3, 1) == [
        ([EOT, 0, 1], [0, 1, 2]),
        ([0, 1, 2], [3]),
        ([1, 2, 3], [4]),
        ([2, 3, 4], [5]),
    ]


def test_stride_three_of_four_right_aligns_the_last_window():
    assert table(list(range(9)), 4, 3) == [
        ([EOT, 0, 1, 2], [0, 1, 2, 3]),
        ([2, 3, 4, 5], [4, 5, 6]),
        ([4, 5, 6, 7], [7, 8]),
    ]


@pytest.mark.parametrize("S", [1, 2, 4])
def test_stream_shorter_than_window_is_one_window(S):
    assert table([7, 8], 4, S) == [([EOT, 7], [7, 8])]


@pytest.mark.parametrize("S", [1, 2, 4])
def test_stream_of_exactly_one_window(S):
    assert table([0, 1, 2, 3], 4, S) == [([EOT, 0, 1, 2], [0, 1, 2, 3])]


def test_window_plus_one():
    assert table([0, 1, 2, 3, 4], 4, 4) == [([EOT, 0, 1, 2], [0, 1, 2, 3]), ([0, 1, 2, 3], [4])]
    assert table([0, 1, 2, 3, 4], 4, 1) == [([EOT, 0, 1, 2], [0, 1, 2, 3]), ([0, 1, 2, 3], [4])]


def test_empty_stream_has_no_windows():
    assert table([], 4, 4) == []
    assert rolling_windows(0, 4, 4) == []


def test_window_positions():
    assert rolling_windows(11, 4, 4) == [Window(0, 4, 4), Window(4, 8, 4), Window(6, 10, 2)]
    assert list(Window(6, 10, 2).targets) == [9, 10]


@pytest.mark.parametrize("n", [1, 2, 5, 17, 100])
@pytest.mark.parametrize("L,S", [(1, 1), (4, 1), (4, 3), (8, 8), (16, 5)])
def test_every_target_scored_exactly_once_with_bounded_context(n, L, S):
    windows = rolling_windows(n + 1, L, S)
    scored = [p for w in windows for p in w.targets]
    assert scored == list(range(1, n + 1))
    for w in windows:
        assert w.end - w.start <= L
        first = w.end + 1 - w.n_scored
        assert first - w.start >= min(first, L - S + 1), "each target sees at least L - S + 1 tokens"


def test_bad_stride_is_refused():
    with pytest.raises(AssertionError):
        rolling_windows(10, 4, 5)
    with pytest.raises(AssertionError):
        rolling_windows(10, 4, 0)


# --- Megatron-LM's last window (--last-window stride): drawn in gpt2eval/engine/windows.py --------


def stride_table(tokens, L, S, eot=True):
    stream = ([EOT] if eot else []) + tokens
    return [(list(s.input_ids), list(s.target_ids)) for s in stream_spans(stream, L, S, "stride")]


def test_stride_aligned_last_window_disjoint():
    assert stride_table(list(range(10)), 4, 4) == [
        ([EOT, 0, 1, 2], [0, 1, 2, 3]),
        ([3, 4, 5, 6], [4, 5, 6, 7]),
        ([7, 8], [8, 9]),  # starts at 2 * 4: 9 sees 2 tokens (right-aligned: 4)
    ]


def test_stride_aligned_last_window_overlapping():
    assert stride_table(list(range(9)), 4, 3) == [
        ([EOT, 0, 1, 2], [0, 1, 2, 3]),
        ([2, 3, 4, 5], [4, 5, 6]),
        ([5, 6, 7], [7, 8]),  # starts at 2 * 3 (right-aligned: 4 5 6 7)
    ]


def test_stride_aligned_equals_right_aligned_when_the_stride_fits():
    for n, L, S in ((8, 4, 4), (10, 4, 2), (6, 3, 1), (4, 4, 2), (2, 4, 4)):
        assert stride_table(list(range(n)), L, S) == table(list(range(n)), L, S), (n, L, S)
    assert stride_table([], 4, 4) == []


def test_stride_aligned_without_prefix_as_megatron_feeds_it():
    # Megatron's stream has no <|endoftext|>: token 0 is context only.
    assert stride_table(list(range(10)), 4, 2, eot=False) == [
        ([0, 1, 2, 3], [1, 2, 3, 4]),
        ([2, 3, 4, 5], [5, 6]),
        ([4, 5, 6, 7], [7, 8]),
        ([6, 7, 8], [9]),  # starts at 3 * 2, one target (right-aligned: 5 6 7 8)
    ]


def megatron_windows(n_tokens, L, S):
    """(inputs, scored targets) per sample of Megatron-LM's ``_LMDataset`` (tasks/zeroshot_gpt/
    datasets.py, written here from its description): sample i feeds tokens[i*S : i*S + L] padded
    on the right, and scores the last S of its L predictions (all L in sample 0), pads excluded."""
    PAD = -2
    tokens = list(range(n_tokens))
    targets = max(n_tokens - 1 - S, 0)
    out = []
    for idx in range(max(math.ceil(targets / S) + 1, 1)):
        row = tokens[idx * S: idx * S + L + 1]
        mask = [1] * (len(row) - 1) + [0] * (L + 1 - len(row))
        row += [PAD] * (L + 1 - len(row))
        if S != L and idx != 0:
            mask[:-S] = [0] * (L - S)
        scored = [t for t, m in zip(row[1:], mask) if m]
        if scored:
            out.append((row[: len(row) - 1 - row[1:].count(PAD)], scored))
    return out


@pytest.mark.parametrize("n", [1, 2, 5, 9, 17, 100])
@pytest.mark.parametrize("L,S", [(1, 1), (4, 1), (4, 3), (4, 4), (8, 8), (16, 5), (16, 16)])
def test_stride_aligned_windows_are_megatrons(n, L, S):
    ours = [(list(s.input_ids), list(s.target_ids)) for s in stream_spans(list(range(n)), L, S, "stride")]
    assert ours == megatron_windows(n, L, S)


def test_token_contexts_follow_the_last_window():
    """What --save-tokens records as each target's context, under either last window."""
    from types import SimpleNamespace

    from gpt2eval.engine.lm import LM

    def contexts(last_window):
        lm = SimpleNamespace(eos_prefix=False, max_length=4, stride=2, last_window=last_window)
        return LM.stream_contexts(lm, 10).tolist()

    # Megatron's stream of 10 tokens (drawn above): the last target sees 6 7 8, not 5 6 7 8.
    assert contexts("stride") == [1, 2, 3, 4, 3, 4, 3, 4, 3]
    assert contexts("right") == [1, 2, 3, 4, 3, 4, 3, 4, 4]
