"""Issue 16.6 and 16.4: what `gpt2eval overlap` reads and writes.

An empty corpus is an error, not 0.00%; files that are not text are skipped with a warning
that counts them; .zst (The Pile's format) and .xz corpora are read as their plain text;
a saved filter with a changed bit is refused by its sidecar's sha256; outputs are checked
before the corpus pass, and a write that fails after it is one line.
"""
import gzip
import json
import lzma

import pytest
from click.testing import CliRunner

from gpt2eval.cli import main

PTB = "ptb/ptb.test.txt"


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def overlap(data_dir, out, *args):
    return run("overlap", "--task", "ptb", "--data-dir", data_dir, "--limit", 50, "--output", out, *args)


def error_line(result, fragment):
    assert result.exit_code == 2, result.output
    errors = [x for x in result.output.splitlines() if x.startswith("error: ")]
    assert len(errors) == 1 and fragment in errors[0] and "Traceback" not in result.output, result.output


@pytest.fixture
def ptb_text(data_dir):
    return "".join((data_dir / PTB).read_text().splitlines(keepends=True)[:50])


def test_an_empty_corpus_is_an_error(data_dir, tmp_path):
    (tmp_path / "empty.txt").write_text("")
    error_line(overlap(data_dir, tmp_path / "o.json", "--corpus", tmp_path / "empty.txt"), "holds no 8-gram")
    error_line(overlap(data_dir, tmp_path / "o.json", "--corpus", tmp_path / "empty.txt", "--capacity", 10), "holds no 8-gram")
    assert not (tmp_path / "o.json").exists()


def test_files_that_are_not_text_are_skipped_with_a_counted_warning(data_dir, tmp_path, ptb_text):
    (tmp_path / "corpus.txt").write_text(ptb_text)
    (tmp_path / "weights.bin").write_bytes(bytes(range(256)) * 400)
    (tmp_path / "latin1.txt").write_bytes("caf\xe9 ".encode("latin-1") * 5000)
    result = overlap(data_dir, tmp_path / "o.json", "--corpus", tmp_path / "*")
    assert result.exit_code == 0, result.output
    assert "warning: skipped 2 corpus file(s) that are not text" in result.output
    assert [c["name"] for c in json.loads((tmp_path / "o.json").read_text())["corpus"]] == [str(tmp_path / "corpus.txt")]
    error_line(overlap(data_dir, tmp_path / "p.json", "--corpus", tmp_path / "weights.bin"), "none of the 1 file(s) is text")


def test_compressed_corpora_count_as_their_plain_text(data_dir, tmp_path, ptb_text):
    import zstandard

    jsonl = "".join(json.dumps({"text": line}) + "\n" for line in ptb_text.splitlines())
    files = {"plain.jsonl": jsonl.encode(), "c.jsonl.zst": zstandard.ZstdCompressor().compress(jsonl.encode()),
             "c.jsonl.xz": lzma.compress(jsonl.encode()), "c.jsonl.gz": gzip.compress(jsonl.encode()),
             "plain.txt": ptb_text.encode(), "c.txt.zst": zstandard.ZstdCompressor().compress(ptb_text.encode()),
             "c.txt.xz": lzma.compress(ptb_text.encode())}
    found = {}
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
        result = overlap(data_dir, tmp_path / f"{name}.json", "--corpus", tmp_path / name)
        assert result.exit_code == 0, result.output
        found[name] = json.loads((tmp_path / f"{name}.json").read_text())["tasks"]["ptb"]["percent"]
    assert found["plain.jsonl"] == found["c.jsonl.zst"] == found["c.jsonl.xz"] == found["c.jsonl.gz"] == 100.0
    assert found["plain.txt"] == found["c.txt.zst"] == found["c.txt.xz"] > 99, found


def test_a_truncated_compressed_corpus_is_one_line(data_dir, tmp_path, ptb_text):
    data = lzma.compress(ptb_text.encode() * 50)
    (tmp_path / "cut.txt.xz").write_bytes(data[: len(data) // 2])
    error_line(overlap(data_dir, tmp_path / "o.json", "--corpus", tmp_path / "cut.txt.xz"), "damaged or truncated?")


def test_a_filter_with_a_changed_bit_is_refused_by_its_checksum(data_dir, tmp_path, ptb_text):
    (tmp_path / "corpus.txt").write_text(ptb_text)
    built = overlap(data_dir, tmp_path / "a.json", "--corpus", tmp_path / "corpus.txt", "--filter", tmp_path / "f.bloom")
    assert built.exit_code == 0, built.output
    assert len(json.loads((tmp_path / "f.bloom.json").read_text())["sha256"]) == 64
    assert overlap(data_dir, tmp_path / "b.json", "--filter", tmp_path / "f.bloom").exit_code == 0
    data = bytearray((tmp_path / "f.bloom").read_bytes())
    data[len(data) // 2] ^= 0x01
    (tmp_path / "f.bloom").write_bytes(bytes(data))
    error_line(overlap(data_dir, tmp_path / "c.json", "--filter", tmp_path / "f.bloom"), "is damaged: its sha256")


@pytest.mark.parametrize("option", ["--output", "--filter"])
def test_outputs_under_a_file_are_refused_before_the_corpus_pass(option, data_dir, tmp_path, monkeypatch):
    import gpt2eval.analysis.corpus

    monkeypatch.setattr(gpt2eval.analysis.corpus, "count_ngrams", lambda *a: pytest.fail("the corpus was read"))
    (tmp_path / "a-file").write_text("x")
    (tmp_path / "corpus.txt").write_text("some words " * 20)
    paths = {"--output": tmp_path / "o.json", "--filter": tmp_path / "f.bloom", option: tmp_path / "a-file" / "x"}
    result = run("overlap", "--task", "ptb", "--data-dir", data_dir, "--limit", 5, "--corpus", tmp_path / "corpus.txt",
                 "--output", paths["--output"], "--filter", paths["--filter"])
    error_line(result, f"{option} {tmp_path / 'a-file' / 'x'}: {tmp_path / 'a-file'} is a file")


def test_an_output_that_fails_after_the_corpus_pass_is_one_line(data_dir, tmp_path, monkeypatch):
    import gpt2eval.results.files

    def denied(result, path):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(gpt2eval.results.files, "write_json", denied)
    (tmp_path / "corpus.txt").write_text("some words " * 20)
    result = overlap(data_dir, tmp_path / "o.json", "--corpus", tmp_path / "corpus.txt", "--filter", tmp_path / "f.bloom")
    error_line(result, f"cannot write {tmp_path / 'o.json'} (Permission denied)")
    assert f"reuse the filter with --filter {tmp_path / 'f.bloom'}" in result.output
