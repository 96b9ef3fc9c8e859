"""gpt2eval: zero-shot language-modeling evaluation, the GPT-2 paper's way."""

__version__ = "0.1.0"
