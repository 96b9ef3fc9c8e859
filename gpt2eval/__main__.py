"""``python -m gpt2eval``: what ``torchrun -m gpt2eval run ...`` starts in each process."""
from gpt2eval.cli import main

main(prog_name="gpt2eval")
