"""The model's output layer, run a chunk of positions at a time ("chunked"), or as the model
runs it ("full").

A causal LM is a body (embeddings, blocks, final norm) that maps ids (B, T) to hidden
states (B, T, H), then an output layer that maps each position to V logits. At V = 50,257
the output layer's (B, T, V) float32 logits are the largest tensor of a forward pass (823
MB at B = 4, T = 1,024), and scoring reads them all again for the log-normaliser. The
chunked path runs the body once, then the output layer on C scored positions at a time::

    body        ids (B, T)  ->  hidden (B, T, H)               the model's forward, use_cache=False,
                                                               its output layer handed 0 positions
    per chunk   hidden[scored rows c .. c+C]  (C, H)
                -> logits = post(lm_head(.))   (C, V)           what the model's forward applies
                -> float32 log-softmax, target gather, >= amax  then the chunk is dropped

so memory no longer grows with B x T x V, and only scored positions are projected.

It must be exactly the model's own output. ``POST`` lists, by class, the architectures
whose ``*ForCausalLM.forward`` was read (transformers 5.x) and what each applies between
its output layer and ``.logits`` (Gemma 2's final soft-capping, Mamba's
casts); any other class, a subclass or remote code, runs the full path. On top, the first
use on a model compares both paths on a few tokens and keeps the full path on a mismatch.
Which path ran is recorded in the result (``config.engine.output_head``).
"""
from __future__ import annotations

import weakref
from typing import Callable

import torch


def _identity(logits: torch.Tensor, model) -> torch.Tensor:
    return logits


def _softcap(logits: torch.Tensor, model) -> torch.Tensor:
    cap = model.config.final_logit_softcapping  # Gemma2ForCausalLM.forward, same ops in the same order
    if cap is None:
        return logits
    return torch.tanh(logits / cap) * cap


def _mamba_float(logits: torch.Tensor, model) -> torch.Tensor:
    return logits.float()  # MambaForCausalLM.forward: lm_head(h.to(weight dtype)).float()


# ``*ForCausalLM`` class name -> what its forward applies after ``lm_head``.
POST: dict[str, Callable] = {
    "GPT2LMHeadModel": _identity,
    "GPTNeoXForCausalLM": _identity,
    "LlamaForCausalLM": _identity,
    "OPTForCausalLM": _identity,  # OPT's project_out runs inside the decoder, before last_hidden_state
    "Qwen2ForCausalLM": _identity,
    "Gemma2ForCausalLM": _softcap,
    "MambaForCausalLM": _mamba_float,
}

_checked: "weakref.WeakKeyDictionary[torch.nn.Module, bool]" = weakref.WeakKeyDictionary()


class OutputHead:
    """The output layer of ``model`` and what follows it, when the chunked path is faithful
    for it; ``path`` says which path runs ("chunked" or "full")."""

    def __init__(self, model, check: bool = True):
        self.model = model
        self.post = _post_of(model)
        self.proj = model.get_output_embeddings() if self.post else None
        ok = isinstance(self.proj, torch.nn.Module)
        if ok and check:
            if model not in _checked:
                _checked[model] = _same_as_model(self, model)
            ok = _checked[model]
        self.path = "chunked" if ok else "full"

    @property
    def chunked(self) -> bool:
        return self.path == "chunked"

    def hidden(self, ids: torch.Tensor) -> torch.Tensor:
        """What the output layer sees for ``ids`` (B, T): (B, T, H).

        The model's own forward runs (its hooks, its body, whatever it does before the
        output layer), and the output layer is handed zero positions: it computes nothing.
        """
        seen = []

        def intercept(module, args):
            seen.append(args[0])
            return (args[0].narrow(-2, 0, 0),)  # (B, 0, H)

        handle = self.proj.register_forward_pre_hook(intercept)
        try:
            self.model(input_ids=ids, use_cache=False)
        finally:
            handle.remove()
        assert len(seen) == 1, f"the output layer ran {len(seen)} times in one forward pass"
        return seen[0]

    def logits(self, hidden: torch.Tensor) -> torch.Tensor:
        """The model's logits at ``hidden`` (..., H): (..., V), in the dtype the model returns."""
        return self.post(self.proj(hidden.to(self.proj.weight.dtype)), self.model)


def _post_of(model):
    cls = type(model)
    if not cls.__module__.startswith("transformers.models."):
        return None  # remote code or a wrapper: what its forward does is unknown
    return POST.get(cls.__name__)


@torch.inference_mode()
def _same_as_model(head: OutputHead, model) -> bool:
    """Both paths on 4 tokens: the logits must agree to float rounding."""
    device = next(model.parameters()).device
    ids = torch.arange(4, device=device)[None, :] % model.get_input_embeddings().num_embeddings  # (1, 4)
    try:
        want = model(input_ids=ids, use_cache=False).logits
        got = head.logits(head.hidden(ids))
    except Exception:  # noqa: BLE001 - a model the interception does not fit: the full path
        return False
    if got.shape != want.shape or got.dtype != want.dtype:
        return False
    scale = float(want.float().abs().max()) or 1.0
    return bool(torch.allclose(got.float(), want.float(), rtol=1e-4, atol=1e-5 * scale))
