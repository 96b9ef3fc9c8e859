"""Click commands, one module per command family; ``gpt2eval.cli`` registers them.

Each module imports only click and the engine's light modules at import time; anything
heavy (torch, transformers, pandas, matplotlib) is imported inside the command body, so
``gpt2eval --help`` stays fast.
"""
