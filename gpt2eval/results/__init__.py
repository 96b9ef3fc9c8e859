"""Result files: building, writing (atomically), reading, and the bootstrap intervals over their per-document sums. No torch."""
