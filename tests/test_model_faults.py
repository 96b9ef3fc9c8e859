"""Issue 16.2 and 16.10: the model a user really has, and the hub when it does not answer.

A tokenizer that does not fit the model, or no tokenizer at all, is refused by name before
the weights load (it used to surface as an IndexError, or as "empty continuation" and
"nothing was scored"); a tokenizer that adds its own BOS gets streams that start with that
BOS, recorded in the result; a hub id without network fails in one line within seconds;
a pipe is a valid --data-file.
"""
import json
import os
import threading
import time

import pytest
from click.testing import CliRunner

from gpt2eval.cli import main


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def one_error_line(result, fragment):
    assert result.exit_code == 2, result.output
    lines = [x for x in result.output.splitlines() if x.strip() and not x.startswith(("warning:", "[transformers]"))]
    assert len(lines) == 1 and lines[0].startswith("error: ") and fragment in lines[0], result.output
    assert "Traceback" not in result.output


@pytest.fixture
def no_weights_load(monkeypatch):
    import gpt2eval.models.loading

    monkeypatch.setattr(gpt2eval.models.loading, "load_model", lambda cfg: pytest.fail("the weights were loaded"))


def save_model(path, vocab_size, tokenizer):
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel

    torch.manual_seed(0)
    GPT2LMHeadModel(GPT2Config(n_layer=1, n_embd=32, n_head=2, n_positions=64, vocab_size=vocab_size)).save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


def test_tokenizer_ids_beyond_the_embedding_are_refused_before_loading(tmp_path, data_dir, no_weights_load):
    from gpt2eval.testing import gpt2_tokenizer

    model = save_model(tmp_path / "small-vocab", 1000, gpt2_tokenizer())
    result = run("run", "--task", "ptb", "--model", model, "--data-dir", data_dir, "--limit", 2, "--output", tmp_path / "r.json")
    one_error_line(result, "has ids up to 50,256 but the model has 1,000 embedding rows: wrong tokenizer for this model?")


@pytest.mark.parametrize("task", ["lambada", "ptb"])
def test_a_folder_without_tokenizer_files_is_refused_by_name(task, tiny_model_dir, tmp_path, data_dir, no_weights_load):
    import shutil

    model = tmp_path / "no-tokenizer"
    shutil.copytree(tiny_model_dir, model, ignore=shutil.ignore_patterns("tokenizer*", "vocab*", "merges*", "special_tokens*"))
    result = run("run", "--task", task, "--model", model, "--data-dir", data_dir, "--limit", 2, "--output", tmp_path / "r.json")
    one_error_line(result, f"--model {model}: no tokenizer files in that directory")


def test_a_tokenizer_with_no_vocabulary_is_refused(tmp_path, data_dir, no_weights_load):
    from tokenizers import Tokenizer, models
    from transformers import PreTrainedTokenizerFast

    empty = PreTrainedTokenizerFast(tokenizer_object=Tokenizer(models.BPE()), eos_token="<e>")
    model = save_model(tmp_path / "empty-tokenizer", 100, empty)
    result = run("run", "--task", "ptb", "--model", model, "--data-dir", data_dir, "--limit", 2, "--output", tmp_path / "r.json")
    one_error_line(result, "is empty")


def test_a_tokenizer_that_adds_a_bos_starts_each_stream_with_it(tmp_path, data_dir, monkeypatch):
    from tokenizers import AddedToken, processors
    from transformers import GPT2TokenizerFast

    import gpt2eval.engine.scoring
    from gpt2eval.testing import gpt2_tokenizer

    backend = gpt2_tokenizer().backend_tokenizer
    backend.add_special_tokens([AddedToken("<s>", special=True)])
    bos = backend.token_to_id("<s>")
    backend.post_processor = processors.Sequence([processors.ByteLevel(trim_offsets=False),
                                                  processors.TemplateProcessing(single="<s> $A", special_tokens=[("<s>", bos)])])
    tokenizer = GPT2TokenizerFast(tokenizer_object=backend, bos_token="<s>", eos_token="<|endoftext|>")
    model = save_model(tmp_path / "bos-model", 50258, tokenizer)
    starts, real = [], gpt2eval.engine.scoring.score_stream
    monkeypatch.setattr(gpt2eval.engine.scoring, "score_stream", lambda scorer, stream, *a: starts.append(stream[0]) or real(scorer, stream, *a))
    result = run("run", "--task", "ptb", "--model", model, "--data-dir", data_dir, "--limit", 2, "--output", tmp_path / "r.json")
    assert result.exit_code == 0, result.output
    assert starts == [bos] and bos == 50257
    recorded = json.loads((tmp_path / "r.json").read_text())["model"]["start_token"]
    assert recorded == {"id": 50257, "token": "<s>", "rule": "bos: the tokenizer adds it to every text"}


def test_gpt2_streams_start_with_endoftext_as_recorded(gpt2_model_dir, tmp_path, data_dir):
    result = run("run", "--task", "ptb", "--model", gpt2_model_dir, "--data-dir", data_dir, "--limit", 2, "--output", tmp_path / "r.json")
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "r.json").read_text())["model"]["start_token"] == {"id": 50256, "token": "<|endoftext|>", "rule": "eos"}


@pytest.fixture
def hub_down(monkeypatch):
    """The hub's endpoint is a closed local port, and offline mode is off."""
    from huggingface_hub import constants

    import gpt2eval.data.hub

    monkeypatch.setattr(constants, "ENDPOINT", "http://127.0.0.1:9")
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    for var in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "TRANSFORMERS_OFFLINE"):
        monkeypatch.setenv(var, "0")  # restored afterwards, whatever the run sets
        monkeypatch.delenv(var)
    gpt2eval.data.hub.reachable.cache_clear()
    yield
    gpt2eval.data.hub.reachable.cache_clear()


def test_a_hub_id_without_network_fails_in_one_line_within_seconds(hub_down, tmp_path, data_dir):
    start = time.monotonic()
    result = run("run", "--task", "ptb", "--model", "gpt2eval-tests/not-a-model", "--data-dir", data_dir, "--limit", 2,
                 "--output", tmp_path / "r.json")
    one_error_line(result, "cannot reach the hub (http://127.0.0.1:9")
    assert "not in the local cache" in result.output
    assert time.monotonic() - start < 15, "no retry loop"


def test_without_the_hub_this_process_works_offline(hub_down, monkeypatch, capsys):
    from huggingface_hub import constants

    import gpt2eval.data.hub

    if "datasets" not in __import__("sys").modules:
        import datasets  # noqa: F401
    import datasets.config

    monkeypatch.setattr(datasets.config, "HF_HUB_OFFLINE", datasets.config.HF_HUB_OFFLINE)
    monkeypatch.setattr(datasets.config, "HF_DATASETS_OFFLINE", datasets.config.HF_DATASETS_OFFLINE)
    assert not gpt2eval.data.hub.offline()
    gpt2eval.data.hub.ensure_reachable_or_offline()
    assert gpt2eval.data.hub.offline() and constants.HF_HUB_OFFLINE and datasets.config.HF_HUB_OFFLINE
    assert os.environ["HF_DATASETS_OFFLINE"] == "1"
    assert capsys.readouterr().err.startswith("note: the hub does not answer (http://127.0.0.1:9")


def test_data_file_may_be_a_pipe(tiny_model_dir, tmp_path):
    fifo = tmp_path / "text.fifo"
    os.mkfifo(fifo)
    text = "A few words that come through a pipe, as from <(zcat corpus.gz).\n" * 3
    writer = threading.Thread(target=lambda: fifo.write_text(text), daemon=True)  # never blocks the session
    writer.start()
    out = tmp_path / "r.json"
    result = run("run", "--task", "text", "--data-file", fifo, "--model", tiny_model_dir, "--output", out, "--quiet")
    writer.join(timeout=30)
    assert result.exit_code == 0, result.output
    assert json.loads(out.read_text())["totals"]["n_units"] == len(text.split())
