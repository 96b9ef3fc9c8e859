"""Work units: the cut, exact storage, and cache keys that change with what changes numbers."""
import numpy as np
import pytest

from gpt2eval.engine.store import WorkUnitStore, pack, unpack
from gpt2eval.engine.units import Runner, cut


def test_cut_closes_at_the_budget_on_a_batch_multiple():
    assert cut([4] * 10, budget=8) == [(0, 2), (2, 4), (4, 6), (6, 8), (8, 10)]
    assert cut([4] * 10, budget=8, multiple=3) == [(0, 3), (3, 6), (6, 9), (9, 10)]
    assert cut([100, 1, 1, 100], budget=50) == [(0, 1), (1, 4)]
    assert cut([1, 1], budget=10) == [(0, 2)]
    assert cut([], budget=10) == []


def test_pack_is_bit_exact():
    rng = np.random.default_rng(0)
    records = [
        {"nll": rng.standard_normal(n) * 1e3, "greedy": rng.random(n) < 0.5, "ids": rng.integers(0, 50257, (n, 3))}
        for n in (5, 1, 0, 17)
    ]
    back = unpack(pack(records))
    assert len(back) == len(records)
    for a, b in zip(records, back):
        for k in a:
            assert a[k].dtype == b[k].dtype and a[k].shape == b[k].shape
            assert a[k].tobytes() == b[k].tobytes()


def _compute(calls):
    def compute(items):
        calls.append(len(items))
        return [{"nll": np.asarray(item, dtype=np.float64) / 7} for item in items]

    return compute


def test_runner_reuses_units_and_keys_change_with_what_changes_numbers(tmp_path):
    cache = WorkUnitStore(tmp_path / "c.sqlite")
    fp = {"model": "m", "dtype": "float32"}
    items = [[i, i + 1, i + 2] for i in range(10)]
    calls = []
    first = Runner(fp, cache, unit_tokens=6).map("spans", items, _compute(calls), {"batch_size": 1})
    assert calls == [2] * 5
    runner = Runner(fp, cache, unit_tokens=6)
    again = runner.map("spans", items, _compute(calls), {"batch_size": 1})
    assert calls == [2] * 5, "every unit came from the cache"
    assert runner.report("t") == {"units": 5, "cached": 5}
    assert all(a["nll"].tobytes() == b["nll"].tobytes() for a, b in zip(first, again))
    # One changed item recomputes its unit only; params, kind and model recompute everything.
    changed = items[:9] + [[0, 0, 0]]
    Runner(fp, cache, unit_tokens=6).map("spans", changed, _compute(calls), {"batch_size": 1})
    assert calls == [2] * 6
    for fp2, kind, params in ((fp, "spans", {"batch_size": 2}), (fp, "topk", {"batch_size": 1}), ({**fp, "dtype": "bfloat16"}, "spans", {"batch_size": 1})):
        calls.clear()
        Runner(fp2, cache, unit_tokens=6).map(kind, items, _compute(calls), params)
        assert calls == [2] * 5, (fp2, kind, params)


def test_runner_without_cache_computes_in_order():
    calls = []
    out = Runner(unit_tokens=4).map("spans", [[i] * 3 for i in range(5)], _compute(calls))
    assert calls == [2, 2, 1]
    assert [float(r["nll"][0]) for r in out] == pytest.approx([i / 7 for i in range(5)])


def test_bad_run_options_are_one_line_errors(tmp_path):
    from click.testing import CliRunner

    from gpt2eval.cli import main

    a_file = tmp_path / "not-a-folder"
    a_file.write_text("x")
    for bad in (["--unit-tokens", "0"], ["--cache-dir", str(a_file)]):
        result = CliRunner().invoke(main, ["run", "--task", "ptb", "--model", str(tmp_path / "none"), *bad])
        assert result.exit_code == 2, result.output
        assert result.output.startswith("error: ") and len(result.output.strip().splitlines()) == 1, result.output
        assert bad[0] in result.output, result.output  # refused for the option, not for the missing model
