"""Plan: everything that can be checked before the weights load, checked first.

``preflight`` reads the model's config alone (no weights) and refuses what it rules out
(``gpt2eval.models.checks``), then the window options against the context length.
"""
from __future__ import annotations

from gpt2eval.engine.lm import check_window
from gpt2eval.errors import UsageError
from gpt2eval.models import checks
from gpt2eval.models.loading import context_length


def preflight(model_cfg, window_cfg=None):
    """The model's config, read without weights; raises ``UsageError`` for what it rules out.

    With ``window_cfg`` the window options are checked against the context length too.
    """
    from transformers import AutoConfig

    checks.check_location(model_cfg)
    try:
        config = AutoConfig.from_pretrained(model_cfg.model, revision=model_cfg.revision,
                                            trust_remote_code=model_cfg.trust_remote_code)
    except Exception as e:  # noqa: BLE001 - the hub and transformers raise many types; load_error sorts them
        raise checks.load_error(model_cfg, e) from None
    checks.check_causal_config(config, model_cfg.model)
    if window_cfg is not None:
        check_window_early(window_cfg, config)
    return config


def check_window_early(window_cfg, config) -> None:
    """--max-length/--stride against the context length in the config, before any weights load."""
    length = window_cfg.max_length
    try:
        context = context_length(config)
    except UsageError:
        if length is None:
            raise
        context = length  # unknown context: only check --max-length/--stride against each other
    length = context if length is None else length
    check_window(length, length if window_cfg.stride is None else window_cfg.stride, context)
