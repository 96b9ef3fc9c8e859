"""Load a causal LM and its tokenizer from the hub or a local directory, the same way."""
from __future__ import annotations

from dataclasses import dataclass

import torch

from gpt2eval.config import ModelConfig
from gpt2eval.data.files import quiet_hub_retries
from gpt2eval.errors import UsageError
from gpt2eval.models.checks import check_causal, check_location, load_error
from gpt2eval.models.fingerprint import check_revision, weights_sha256

DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


@dataclass
class LoadedModel:
    model: torch.nn.Module
    tokenizer: object
    device: torch.device
    dtype: torch.dtype
    context_length: int
    n_parameters: int
    weights_sha256: str | None = None  # a local directory's weight + config files; None for a hub id
    start_token: dict | None = None  # what a stream starts with (models.tokenizer.start_token); None: eos_id

    @property
    def eos_id(self) -> int:
        eos = self.tokenizer.eos_token_id
        if eos is None:
            eos = self.tokenizer.bos_token_id
        if eos is None:
            raise UsageError("the tokenizer has no <|endoftext|>/EOS or BOS token: pass --no-eos-prefix")
        return eos

    @property
    def start_id(self) -> int:
        """The token before a stream (``--eos-prefix``) or an empty context: the BOS a
        tokenizer adds itself (Llama-style), else EOS (GPT-2's <|endoftext|>)."""
        if self.start_token is None or self.start_token["id"] is None:
            return self.eos_id
        return self.start_token["id"]


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise UsageError(f"unknown --device {name!r}: use auto, cpu, cuda or cuda:N") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise UsageError(f"--device {name} asked for, but no CUDA GPU is visible: use --device cpu")
    if device.type == "cuda" and device.index is not None and device.index >= torch.cuda.device_count():
        raise UsageError(f"--device {name}: only {torch.cuda.device_count()} CUDA device(s) visible")
    return device


def resolve_dtype(name: str, device: torch.device) -> torch.dtype:
    if name == "auto":
        if device.type == "cuda" and torch.cuda.is_bf16_supported():
            return torch.bfloat16
        return torch.float32
    if name not in DTYPES:
        raise UsageError(f"unknown --dtype {name!r}: use auto, float32, bfloat16 or float16")
    return DTYPES[name]


def context_length(config) -> int:
    for key in ("n_positions", "max_position_embeddings", "n_ctx", "seq_length"):
        value = getattr(config, key, None)
        if isinstance(value, int) and value > 0:
            return value
    raise UsageError("the model config names no context length: pass --max-length")


def load_model(cfg: ModelConfig) -> LoadedModel:
    """``AutoModelForCausalLM`` + ``AutoTokenizer``; honours local paths and HF_HUB_OFFLINE."""
    from huggingface_hub.utils import enable_progress_bars
    from transformers import AutoModelForCausalLM
    from transformers.utils import logging as hf_logging

    from gpt2eval.models.tokenizer import check_ids_fit, check_usable, load_tokenizer, start_token

    check_revision(cfg.model, cfg.revision)
    # Loading weights from disk is quick: no bar. But transformers' switch also silences
    # the hub's download bars, and fetching gpt2-xl takes minutes: turn those back on.
    hf_logging.disable_progress_bar()
    enable_progress_bars()
    quiet_hub_retries()
    device = resolve_device(cfg.device)
    dtype = resolve_dtype(cfg.dtype, device)
    kwargs = dict(revision=cfg.revision, trust_remote_code=cfg.trust_remote_code)
    check_location(cfg)
    tokenizer = load_tokenizer(cfg)
    check_usable(tokenizer, cfg.model)
    try:
        model = AutoModelForCausalLM.from_pretrained(cfg.model, dtype=dtype, **kwargs)
    except Exception as e:  # noqa: BLE001 - OSError, ValueError, SafetensorError, UnpicklingError...
        raise load_error(cfg, e) from None
    rows = model.get_input_embeddings().num_embeddings
    check_ids_fit(tokenizer, rows, cfg.model)  # the weights may hold fewer rows than the config says
    model.to(device).eval()
    check_causal(model, device, context_length(model.config), rows)
    return LoadedModel(
        model=model,
        tokenizer=tokenizer,
        device=device,
        dtype=dtype,
        context_length=context_length(model.config),
        n_parameters=sum(p.numel() for p in model.parameters()),
        weights_sha256=weights_sha256(cfg.model),
        start_token=start_token(tokenizer),
    )
