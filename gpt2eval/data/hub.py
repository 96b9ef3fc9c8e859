"""The Hugging Face hub, asked once: is it there, and if not, work from the local cache.

Without network and without ``HF_HUB_OFFLINE=1``, every hub call (the config probe, the
weights, each data file) retries for ~25 s before it gives up, with a dozen warning
lines. ``reachable`` asks once, with a short timeout; when the hub does not answer, this
process goes offline (``go_offline``), so that what is in the local cache is used at once
and what is not fails in one line (``gpt2eval.models.checks.not_cached``).
"""
from __future__ import annotations

import os
import sys
from contextlib import contextmanager
from functools import lru_cache

TIMEOUT_S = 5.0  # a connection that takes longer than this is treated as no network
_FALLBACK = [True]  # False inside `gpt2eval download`, whose whole job is to reach the hub


def offline() -> bool:
    from huggingface_hub import constants

    return bool(constants.HF_HUB_OFFLINE) or os.environ.get("HF_HUB_OFFLINE", "").upper() in ("1", "ON", "YES", "TRUE")


@lru_cache(maxsize=1)
def reachable() -> tuple[bool, str]:
    """(whether the hub answers, why not): one request to its endpoint, proxies honoured."""
    from huggingface_hub import constants
    from huggingface_hub.utils import get_session

    try:
        get_session().head(constants.ENDPOINT, timeout=TIMEOUT_S)
    except Exception as e:  # noqa: BLE001 - DNS, refused, timeout, proxy, TLS: all mean "not reachable"
        text = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        return False, f"{constants.ENDPOINT}: {text[:100]}"
    return True, ""


def go_offline(why: str) -> None:
    """Use only the local cache from now on, in this process (hub, transformers, datasets)."""
    from huggingface_hub import constants

    if offline():
        return
    print(f"note: the hub does not answer ({why}): working offline from the local cache "
          "(set HF_HUB_OFFLINE=1 to skip this check)", file=sys.stderr)
    os.environ["HF_HUB_OFFLINE"] = os.environ["HF_DATASETS_OFFLINE"] = "1"
    constants.HF_HUB_OFFLINE = True
    if "datasets" in sys.modules:  # read from the environment at import: set it where already imported
        import datasets.config

        datasets.config.HF_HUB_OFFLINE = datasets.config.HF_DATASETS_OFFLINE = True


@contextmanager
def no_offline_fallback():
    """Within: hub calls are made as asked (``gpt2eval download`` reports what it cannot reach)."""
    _FALLBACK.append(False)
    try:
        yield
    finally:
        _FALLBACK.pop()


def ensure_reachable_or_offline() -> None:
    """Before the first hub call: when the hub does not answer, go offline at once."""
    if offline() or not _FALLBACK[-1]:
        return
    ok, why = reachable()
    if not ok:
        go_offline(why)
