"""The tokenizer a model folder really holds, checked against the model before any weights load.

Without these checks a wrong or missing tokenizer shows up late and as something else:

    the folder has no tokenizer files      transformers builds an empty tokenizer from the
                                           config; every text encodes to no ids, and LAMBADA
                                           asserts "empty continuation", PTB "nothing scored"
    ids beyond the embedding rows          IndexError deep inside the first forward pass
    a tokenizer that adds its own BOS      (Llama-style) the model was trained with that
                                           BOS first: a stream prefixed with EOS is off-protocol

The folder's files are checked with its location (``checks.check_tokenizer_files``), the
rest here. ``start_token`` picks the token a stream starts with under ``--eos-prefix``: the
BOS the tokenizer adds to every text, else EOS (GPT-2's ``<|endoftext|>``, which is also
its BOS); the result records which (``model.start_token``).
"""
from __future__ import annotations

from pathlib import Path

from gpt2eval.errors import UsageError

PROBE = "The quick brown fox jumps over the lazy dog."
_LOADED: dict = {}  # (model, revision, trust_remote_code) -> tokenizer: preflight and load share one


def load_tokenizer(model_cfg):
    """``AutoTokenizer`` for the model, loaded once per process."""
    from gpt2eval.models.checks import load_error

    folder = Path(model_cfg.model)
    files = tuple((p.name, p.stat().st_mtime_ns) for p in sorted(folder.iterdir()) if p.is_file()) if folder.is_dir() else ()
    key = (model_cfg.model, model_cfg.revision, model_cfg.trust_remote_code, files)  # new files at a path: reloaded
    if key not in _LOADED:
        from transformers import AutoTokenizer

        try:
            _LOADED[key] = AutoTokenizer.from_pretrained(model_cfg.model, revision=model_cfg.revision,
                                                         trust_remote_code=model_cfg.trust_remote_code)
        except Exception as e:  # noqa: BLE001 - as for the config: load_error sorts them
            raise load_error(model_cfg, e) from None
    return _LOADED[key]


def check_tokenizer(model_cfg, config) -> None:
    """The tokenizer is usable (a fast one, with a vocabulary) and its ids fit the model."""
    tokenizer = load_tokenizer(model_cfg)
    check_usable(tokenizer, model_cfg.model)
    check_ids_fit(tokenizer, embedding_rows(config), model_cfg.model)


def check_usable(tokenizer, name: str) -> None:
    """A fast tokenizer (character offsets) that turns text into ids."""
    if getattr(tokenizer, "backend_tokenizer", None) is None:
        raise UsageError(f"model {name}: gpt2eval needs a fast (Rust) tokenizer for character offsets: "
                         "use a model that ships tokenizer.json")
    if len(tokenizer) < 2 or not tokenizer(PROBE, add_special_tokens=False)["input_ids"]:
        raise UsageError(f"the tokenizer of {name} is empty ({len(tokenizer)} token(s); text encodes to nothing): "
                         "its files are missing or damaged; save the tokenizer with the model")


def embedding_rows(config) -> int | None:
    """The vocabulary size the model's config declares (its embedding rows), if it says."""
    text = config.get_text_config() if hasattr(config, "get_text_config") else config
    rows = getattr(text, "vocab_size", None)
    return rows if isinstance(rows, int) and rows > 0 else None


def check_ids_fit(tokenizer, rows: int | None, name: str) -> None:
    """Every id the tokenizer can produce indexes a row of the embedding."""
    if rows is None:
        return
    special = [i for i in (tokenizer.bos_token_id, tokenizer.eos_token_id, tokenizer.pad_token_id) if i is not None]
    top = max([*tokenizer.get_vocab().values(), *special], default=-1)
    if top >= rows:
        raise UsageError(f"the tokenizer of {name} has ids up to {top:,} but the model has {rows:,} embedding rows: "
                         "wrong tokenizer for this model? (save the model's own tokenizer in its folder)")


def start_token(tokenizer) -> dict:
    """``{"id", "token", "rule"}`` of the token a stream starts with (see the module docstring)."""
    bos, eos = tokenizer.bos_token_id, tokenizer.eos_token_id
    with_special = tokenizer("a")["input_ids"]
    plain = tokenizer("a", add_special_tokens=False)["input_ids"]
    if bos is not None and with_special[:1] == [bos] and plain[:1] != [bos]:
        chosen, rule = bos, "bos: the tokenizer adds it to every text"
    elif eos is not None:
        chosen, rule = eos, "eos"
    else:
        chosen, rule = bos, "bos: the tokenizer has no eos"
    return {"id": chosen, "token": None if chosen is None else tokenizer.convert_ids_to_tokens(chosen), "rule": rule}
