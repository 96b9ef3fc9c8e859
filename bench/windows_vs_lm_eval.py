"""Side-by-side check: our rolling windows against lm-eval's ``get_rolling_token_windows``.

lm-eval is not a dependency of gpt2eval; install it beside the project to run this:

    .venv/bin/pip install requests && .venv/bin/pip install --no-deps lm-eval
    .venv/bin/python bench/windows_vs_lm_eval.py

lm-eval's ``context_len`` c gives each later window ``L - c + 1`` new targets, so our stride
S corresponds to ``c = L - S + 1`` (S = L is lm-eval's default, c = 1).
"""
import itertools
import sys

from gpt2eval.engine.scoring import stream_spans

try:
    from lm_eval.utils import get_rolling_token_windows
except ImportError:
    sys.exit("lm-eval is not installed: .venv/bin/pip install requests && .venv/bin/pip install --no-deps lm-eval")

EOT = -1


def ours(tokens, L, S):
    return [(list(s.input_ids), list(s.target_ids)) for s in stream_spans([EOT] + tokens, L, S)]


def theirs(tokens, L, S):
    return [(list(x), list(y)) for x, y in get_rolling_token_windows(tokens, EOT, L, L - S + 1)]


def main():
    cases = mismatches = 0
    for n, L in itertools.product([0, 1, 2, 3, 7, 8, 9, 31, 64, 100, 257], [1, 2, 4, 8, 16, 64]):
        for S in sorted({s for s in (1, 2, 3, L // 2, L - 1, L) if 1 <= s <= L}):
            tokens = list(range(n))
            cases += 1
            if ours(tokens, L, S) != theirs(tokens, L, S):
                mismatches += 1
                print(f"MISMATCH n={n} L={L} S={S}")
    print(f"{cases - mismatches}/{cases} (n, L, S) cases identical to lm-eval's windows")
    return 1 if mismatches else 0


if __name__ == "__main__":
    sys.exit(main())
