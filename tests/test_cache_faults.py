"""Issue 16.1: the work-unit cache can save work but never cost a run or change a number.

A damaged cache (truncated, overwritten, the wrong schema, a row that does not decode) is
moved aside with one warning naming where, and the work is recomputed to the same numbers;
an unusable --store-dir is a one-line error before the model loads; `cache info|clear`
handle damaged caches.
"""
import json
import sqlite3

import pytest
from click.testing import CliRunner

from gpt2eval.engine.store import FILENAME, WorkUnitStore, pack, unpack
from gpt2eval.cli import main


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.fixture
def first_run(tiny_model_dir, data_dir, tmp_path):
    """A finished run's result, its cache, and a function that reruns it from scratch."""
    out = tmp_path / "out" / "ptb.json"
    args = ["run", "--task", "ptb", "--model", tiny_model_dir, "--data-dir", data_dir, "--limit", 20, "--work-unit-tokens", 128,
            "--quiet", "--output", out]
    assert run(*args).exit_code == 0
    reference = json.loads(out.read_text())

    def rerun():
        out.unlink()
        return run(*args)

    return out, out.parent / FILENAME, reference, rerun


def same_numbers(a: dict, b: dict) -> bool:
    return a["metrics"] == b["metrics"] and a["per_document"] == b["per_document"]


def moved_aside(result, db) -> list:
    lines = [x for x in result.output.splitlines() if x.startswith("warning: the work-unit store")]
    assert len(lines) == 1 and "is damaged" in lines[0] and "moved it to" in lines[0], result.output
    return sorted(db.parent.glob(FILENAME + ".damaged-*"))


def test_truncated_cache_is_moved_aside_and_recomputed(first_run):
    out, db, reference, rerun = first_run
    WorkUnitStore(db).close()  # checkpoint the WAL into the file, as a finished process leaves it
    with open(db, "r+b") as f:
        f.truncate(db.stat().st_size // 2)
    result = rerun()
    assert result.exit_code == 0, result.output
    assert moved_aside(result, db) and "0 from the cache" in result.output
    assert same_numbers(json.loads(out.read_text()), reference)


def test_cache_that_is_not_a_database_is_moved_aside_and_recomputed(first_run):
    out, db, reference, rerun = first_run
    for side in db.parent.glob(FILENAME + "-*"):
        side.unlink()
    db.write_bytes(b"not sqlite at all " * 1000)
    result = rerun()
    assert result.exit_code == 0, result.output
    assert [p.name for p in moved_aside(result, db)][0].startswith(FILENAME + ".damaged-")
    assert same_numbers(json.loads(out.read_text()), reference)


def test_cache_with_the_wrong_schema_is_moved_aside(first_run):
    out, db, reference, rerun = first_run
    with sqlite3.connect(db) as c:
        c.execute("ALTER TABLE units RENAME TO old")
        c.execute("CREATE TABLE units (key TEXT, value BLOB)")
    result = rerun()
    assert result.exit_code == 0 and "wrong schema" in result.output, result.output
    assert moved_aside(result, db)
    assert same_numbers(json.loads(out.read_text()), reference)


def test_a_row_that_does_not_decode_counts_as_missing(first_run):
    out, db, reference, rerun = first_run
    with sqlite3.connect(db) as c:
        n = c.execute("SELECT COUNT(*) FROM units").fetchone()[0]
        c.execute("UPDATE units SET value = CAST(? AS BLOB) WHERE rowid = (SELECT MIN(rowid) FROM units)", ('{"n": 1}\n',))
    result = rerun()
    assert result.exit_code == 0, result.output
    assert "warning: 1 damaged unit(s) in the work-unit store" in result.output
    assert f"{n:,} work units, {n - 1:,} from the cache" in result.output
    assert same_numbers(json.loads(out.read_text()), reference)
    assert "damaged unit" not in rerun().output, "the recomputed unit replaced the damaged row"


def test_a_flipped_bit_in_a_stored_unit_is_refused_by_its_checksum():
    import numpy as np

    blob = bytearray(pack([{"nll": np.arange(4, dtype=np.float32)}]))
    assert unpack(bytes(blob))[0]["nll"].tolist() == [0, 1, 2, 3]
    blob[-2] ^= 0x10  # one bit of the last float
    with pytest.raises(ValueError, match="checksum"):
        unpack(bytes(blob))


def test_a_cache_that_breaks_mid_run_warns_and_the_run_goes_on(tmp_path, capsys):
    import numpy as np

    from gpt2eval.engine.units import Runner

    cache = WorkUnitStore(tmp_path / FILENAME)
    cache.db.close()  # any sqlite error from here on
    out = Runner({"model": "m"}, cache, unit_tokens=2).map("spans", [[1], [2], [3]], lambda items: [{"x": np.ones(1)} for _ in items])
    assert len(out) == 3
    err = capsys.readouterr().err
    assert err.count("warning: the work-unit store") == 1 and "the rest of this run is not cached" in err, err


def test_cache_dir_under_a_file_is_a_one_line_error_before_loading(tiny_model_dir, data_dir, tmp_path, monkeypatch):
    import gpt2eval.models.loading

    monkeypatch.setattr(gpt2eval.models.loading, "load_model", lambda cfg: pytest.fail("loaded the model"))
    (tmp_path / "a-file").write_text("x")
    result = run("run", "--task", "ptb", "--model", tiny_model_dir, "--data-dir", data_dir, "--limit", 2,
                 "--store-dir", tmp_path / "a-file" / "cache", "--output", tmp_path / "r.json")
    assert result.exit_code == 2 and result.output.count("\n") == 1, result.output
    assert result.output.startswith("error: --store-dir") and "is a file" in result.output


def test_read_only_cache_dir_is_a_one_line_error_before_loading(tiny_model_dir, data_dir, tmp_path, monkeypatch):
    import os

    import gpt2eval.models.loading
    import gpt2eval.results.paths

    ro = tmp_path / "ro"
    ro.mkdir()
    real = os.access
    monkeypatch.setattr(gpt2eval.results.paths.os, "access", lambda p, mode: False if str(p) == str(ro) and mode & os.W_OK else real(p, mode))
    monkeypatch.setattr(gpt2eval.models.loading, "load_model", lambda cfg: pytest.fail("loaded the model"))
    result = run("run", "--task", "ptb", "--model", tiny_model_dir, "--data-dir", data_dir, "--limit", 2,
                 "--store-dir", ro, "--output", tmp_path / "r.json")
    assert result.exit_code == 2 and result.output.count("\n") == 1, result.output
    assert "--store-dir" in result.output and "cannot write" in result.output


def test_cache_info_and_clear_handle_damaged_caches(tmp_path):
    good, bad = tmp_path / "a" / FILENAME, tmp_path / "b" / FILENAME
    WorkUnitStore(good).close()
    bad.parent.mkdir()
    bad.write_bytes(b"\x00garbage" * 100)
    aside = tmp_path / "a" / f"{FILENAME}.damaged-20250101-000000"
    aside.write_bytes(b"old")
    info = run("cache", "info", tmp_path)
    assert info.exit_code == 0 and "Traceback" not in info.output, info.output
    assert "damaged (file is not a database)" in info.output and "moved aside by a run" in info.output
    cleared = run("cache", "clear", tmp_path)
    assert cleared.exit_code == 0, cleared.output
    assert not good.exists() and not bad.exists() and not aside.exists()
