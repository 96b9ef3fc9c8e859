"""LAMBADA protocol variants: the openai / as-is / lm-eval formats on the real passages,
lm-eval's pair encoding, the bflm token-level stop-word filter and the 127-word list."""
from functools import lru_cache
from types import SimpleNamespace

import pytest
import torch

from gpt2eval.config import DataConfig
from gpt2eval.errors import UsageError
from gpt2eval.engine.greedy_token import token_filter_words
from gpt2eval.tasks.lambada import Lambada, lm_eval_encode, stopwords
from gpt2eval.testing import gpt2_tokenizer

_tokenizer = lru_cache(maxsize=1)(gpt2_tokenizer)


def docs_of(data_dir, fmt):
    return {d.id: d for d in Lambada(DataConfig(data_dir=str(data_dir), options={"lambada_format": fmt})).documents()}


def test_openai_format_straightens_quotes_and_feeds_a_newline(data_dir):
    docs = docs_of(data_dir, "openai")
    first = docs["passage-0"]
    assert first.extra["context"].startswith("\n") and first.extra["context"][1:] == first.original[: -len(" signs")].strip()
    assert first.extra["continuation"] == " signs" and first.text == "\n" + first.original
    # 1,622 passages have curly double quotes; 11 targets do. None is left.
    assert sum("\u201c" in d.original or "\u201d" in d.original for d in docs.values()) == 1_622
    assert not any("\u201c" in d.text or "\u201d" in d.text for d in docs.values())
    assert docs["passage-1053"].extra["target"] == '"Sal' and docs["passage-1053"].extra["continuation"] == ' "Sal'
    # A line break before the target: the target is still scored after one space.
    assert docs["passage-2881"].extra["continuation"] == " gloves"
    assert docs["passage-2881"].extra["context"].endswith("to do with the")


def test_lm_eval_format_splits_on_single_spaces(data_dir):
    docs = docs_of(data_dir, "lm-eval")
    assert docs["passage-0"].extra["context"] == docs["passage-0"].original[: -len(" signs")]
    assert docs["passage-1053"].extra["target"] == "be\u2013\u201d\n\u201cSal"
    assert docs["passage-2881"].extra["continuation"] == " the\ngloves"  # lm-eval's split, as it is
    assert all(d.text == d.original for d in docs.values())


def test_as_is_with_and_without_the_eos_prefix():
    class FakeLM:
        eos_prefix = True
        loaded = SimpleNamespace(eos_id=50256, start_id=50256)

        def encode(self, text):
            return _tokenizer().encode(text)

    t = Lambada(DataConfig(options={"lambada_format": "as-is"}))
    d = t.document(0, "I don't care about signs")
    lm = FakeLM()
    ctx, cont = t.encode(d, lm)
    assert ctx[0] == 50256 and _tokenizer().decode(ctx[1:]) == "I don't care about" and _tokenizer().decode(cont) == " signs"
    lm.eos_prefix = False
    assert t.encode(d, lm)[0][0] != 50256
    openai = Lambada(DataConfig())
    ctx, _ = openai.encode(openai.document(0, "I don't care about signs"), FakeLM())
    assert _tokenizer().decode(ctx) == "\nI don't care about"  # the newline, never <|endoftext|>


def test_lm_eval_pair_encoding():
    lm = SimpleNamespace(encode=lambda text: _tokenizer().encode(text))
    tok = _tokenizer()
    ctx, cont = lm_eval_encode(lm, "a b ", "c")  # trailing spaces move to the continuation
    assert tok.decode(ctx) == "a b" and tok.decode(cont) == " c"
    ctx, cont = lm_eval_encode(lm, "", " c")
    assert ctx == [] and tok.decode(cont) == " c"
    ctx, cont = lm_eval_encode(lm, "to do with the\n", "gloves")
    assert tok.decode(ctx) == "to do with the" and tok.decode(cont) == "\ngloves"


def test_bad_values_are_usage_errors():
    with pytest.raises(UsageError, match="--lambada-format 'openAI' is not one of"):
        Lambada(DataConfig(options={"lambada_format": "openAI"}))
    with pytest.raises(UsageError, match="--stopword-filter 'tokens'"):
        Lambada(DataConfig(options={"stopword_filter": "tokens"}))
    with pytest.raises(UsageError, match="--stopwords 'nltk'"):
        Lambada(DataConfig(options={"stopwords": "nltk"}))


def test_nltk127_is_bflms_list():
    old, _ = stopwords("nltk127")
    new, _ = stopwords("nltk179")
    assert len(old) == 127 and old < new and {"the", "s", "t", "don", "should"} <= old
    assert not {"you're", "d", "ll", "mightn"} & old


class ScriptedLM:
    """Next tokens scripted by how the decoded text ends (most probable first)."""

    def __init__(self, script):
        self.tokenizer = _tokenizer()
        self.max_length = 1024
        self.script = script
        self.calls = 0

    def topk_next(self, contexts, k):
        self.calls += 1
        rows = []
        for ids in contexts:
            text = self.tokenizer.decode(ids)
            ending = max((e for e in self.script if text.endswith(e)), key=len, default=None)
            ranked = self.script.get(ending, [" x"]) + [" y"] * k
            rows.append([self.tokenizer.encode(p)[0] for p in ranked[:k]])
        return torch.tensor(rows)


def test_token_filter_skips_stop_words_at_every_step():
    words = stopwords("nltk127")[0]
    lm = ScriptedLM({
        "care about": [" the", " it", " sign"],  # two stop words first
        "care about sign": ["s", "."],  # "s" is a stop word too (bflm filters every step)
        "care about sign.": [" He"],
        "named": [" Sal", " the"],
        "named Sal": ["ly"],
        "named Sally": [" and", " then", "."],  # both stop words: "." is taken
    })
    ctx = [lm.tokenizer.encode(t) for t in ("I don't care about", "a girl named")]
    assert token_filter_words(lm, ctx, words, topk=128) == ["sign.", "Sally."]
    assert lm.calls == 6  # bflm's 6 steps, all passages batched in each
    assert token_filter_words(lm, ctx, words, topk=128, steps=3) == ["sign.", "Sally."] and lm.calls == 9
    # Only the top k are tried: with k=1 nothing is filtered out (the fallback is the top token).
    assert token_filter_words(lm, ctx[:1], words, topk=1) == ["the"]
    # Matching is exact: "The" is not in NLTK's lower-case list.
    lm2 = ScriptedLM({"x": [" The", " cat"]})
    assert token_filter_words(lm2, [lm2.tokenizer.encode("x")], words, steps=1) == ["The"]
