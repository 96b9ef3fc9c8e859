"""What can be known about a model before its weights load, and one line for what goes wrong.

``gpt2eval.pipeline.plan.preflight`` runs the config checks here before any weights load,
and the tokenizer's (``gpt2eval.models.tokenizer``): a local path that is not there or
holds no tokenizer, a hub id missing from the offline cache (or from the local cache when
the hub does not answer), a repository that needs its own code, a model that is not a
causal decoder, a tokenizer whose ids do not fit the model's embedding. ``check_causal``
then probes the loaded model itself, since a bidirectional model scored as if causal gives
a plausible but meaningless number.
"""
from __future__ import annotations

import pickle
from pathlib import Path

from gpt2eval.errors import UsageError

# Encoder families that AutoModelForCausalLM loads anyway (BertLMHeadModel...): causal only
# when their config says is_decoder=True; otherwise every position sees the whole input.
ENCODER_TYPES = frozenset({
    "bert", "bert-generation", "big_bird", "camembert", "data2vec-text", "electra", "ernie", "megatron-bert",
    "qdqbert", "rembert", "roberta", "roberta-prelayernorm", "roc_bert", "xlm-roberta", "xlm-roberta-xl", "xmod",
})
ENCODER_HEADS = ("ForMaskedLM", "ForPreTraining", "ForSequenceClassification", "ForTokenClassification",
                 "ForQuestionAnswering", "ForMultipleChoice", "ForNextSentencePrediction")
# Files one of which every tokenizer folder holds (fast, BPE, WordPiece, SentencePiece, tiktoken).
TOKENIZER_FILES = ("tokenizer.json", "vocab.json", "vocab.txt", "merges.txt", "tokenizer.model", "spiece.model",
                   "sentencepiece.bpe.model", "tokenizer.tiktoken")


def check_tokenizer_files(path: Path, name: str) -> None:
    """A local model folder must hold a tokenizer, named by its files."""
    if any((path / f).is_file() for f in TOKENIZER_FILES) or any(path.glob("*.tiktoken")):
        return
    raise UsageError(f"--model {name}: no tokenizer files in that directory ({', '.join(TOKENIZER_FILES[:4])}, ...): "
                     "save the tokenizer there too (tokenizer.save_pretrained(DIR))")


def check_location(model_cfg) -> None:
    """A local path must be a model directory with a tokenizer; offline (or when the hub
    does not answer), a hub id must be in the cache."""
    from gpt2eval.data.hub import go_offline, reachable

    name = model_cfg.model
    path = Path(name).expanduser()
    if path.exists():
        if not path.is_dir():
            raise UsageError(f"--model {name} is a file: pass the directory that holds config.json and the weights")
        if not (path / "config.json").is_file():
            raise UsageError(f"--model {name}: no config.json in that directory: pass a directory written by save_pretrained")
        check_tokenizer_files(path, name)
        return
    if looks_like_path(name):
        raise UsageError(f"--model {name}: no such directory: check the path (or pass a hub id such as gpt2-large)")
    if not hub_offline():
        ok, why = reachable()
        if not ok and not in_cache(name, model_cfg.revision):
            raise UsageError(f"cannot reach the hub ({why}) and model {name} is not in the local cache: "
                             f"run `make download MODELS={name}` where there is network, or pass a local directory")
        if not ok:
            go_offline(why)
    if hub_offline() and not in_cache(name, model_cfg.revision):
        raise UsageError(not_cached(name))


def looks_like_path(name: str) -> bool:
    """True when ``name`` cannot be a hub id (``gpt2``, ``org/name``), so it must be a path."""
    from huggingface_hub.utils import HFValidationError, validate_repo_id

    if name.startswith(("/", "./", "../", "~", ".")) or "\\" in name or name.count("/") > 1:
        return True
    try:
        validate_repo_id(name)
    except HFValidationError:
        return True
    return False


def hub_offline() -> bool:
    from gpt2eval.data.hub import offline

    return offline()


def in_cache(repo_id: str, revision: str | None) -> bool:
    from huggingface_hub import try_to_load_from_cache

    return isinstance(try_to_load_from_cache(repo_id, "config.json", revision=revision), str)


def not_cached(name: str) -> str:
    return f"model {name} is not in the local cache (offline): run `make download MODELS={name}` where there is network"


def check_causal_config(config, name: str) -> None:
    """Refuse configs of encoders (BERT-like) and encoder-decoders: their logits see the future."""
    model_type = getattr(config, "model_type", "")
    architectures = getattr(config, "architectures", None) or []
    is_decoder = bool(getattr(config, "is_decoder", False))
    if getattr(config, "is_encoder_decoder", False):
        why = f"an encoder-decoder ({model_type})"
    elif not is_decoder and (model_type in ENCODER_TYPES or any(a.endswith(ENCODER_HEADS) for a in architectures)):
        why = f"a bidirectional encoder ({', '.join(architectures) or model_type}, is_decoder=False)"
    else:
        return
    raise UsageError(f"model {name} is {why}, not a causal decoder: perplexity needs a left-to-right LM such as gpt2")


def check_causal(model, device, context_length: int, vocab_size: int) -> None:
    """Cheap runtime probe: changing later tokens must not change an earlier position's logits."""
    import torch

    n = max(2, min(16, context_length))
    a = [(7919 * i + 13) % vocab_size for i in range(n)]
    b = a[: n // 2] + [(t + 1) % vocab_size for t in a[n // 2 :]]  # the second half changed
    with torch.no_grad():
        logits = model(torch.tensor([a, b], device=device)).logits.float()  # (2, n, V)
    before = logits[:, : n // 2]  # positions that see only the common first half
    diff = (before[0] - before[1]).abs().max().item()
    scale = before[0].abs().max().item()
    tol = (1e-4 if logits.dtype == torch.float32 and next(model.parameters()).dtype == torch.float32 else 1e-2) * (1 + scale)
    if diff > tol:
        raise UsageError(f"the model is not causal: changing later tokens changed earlier logits by {diff:.3g} "
                         "(a bidirectional model scored as causal gives a meaningless perplexity): use a causal LM")


def load_error(model_cfg, e: BaseException) -> UsageError:
    """One line for a failed config/weights load, saying what to do."""
    name, text = model_cfg.model, str(e)
    first = text.strip().splitlines()[0].strip() if text.strip() else type(e).__name__
    low = text.lower()
    if "trust_remote_code" in low or "custom code" in low:
        return UsageError(f"model {name} runs code from its repository: pass --trust-remote-code if you trust it")
    if "couldn't connect" in low or "offline" in low or "connection" in type(e).__name__.lower():
        return UsageError(not_cached(name) if hub_offline() else
                          f"cannot reach the hub for {name} ({first[:120]}): run `make download MODELS={name}` where there is network")
    if type(e).__name__ == "SafetensorError":
        return UsageError(f"the weights of {name} are damaged ({first[:120]}): truncated download? fetch them again")
    if isinstance(e, pickle.UnpicklingError) or "weights only load failed" in low:
        return UsageError(f"the weights of {name} are a pickle that torch refuses to load safely (weights_only=True): "
                          "use safetensors weights, or re-save the model from a source you trust")
    if "unrecognized configuration class" in low:
        return UsageError(f"model {name} is not a causal LM (AutoModelForCausalLM has no class for it): use a causal decoder")
    if Path(name).expanduser().is_dir():
        return UsageError(f"cannot load model {name} ({first[:200]}): a file in that directory is missing or damaged; "
                          "save the model again with save_pretrained")
    return UsageError(
        f"cannot load model {name!r} ({first[:200]}): pass a hub id such as gpt2-large "
        "or a local directory with config.json; offline, pre-fetch it with `gpt2eval download`"
    )
