"""A tokens/s progress bar on stderr; silent when --quiet or stderr is not a terminal."""
from __future__ import annotations

import sys


class Progress:
    def __init__(self, enabled: bool = True):
        self.enabled = enabled and sys.stderr.isatty()
        self.bar = None

    def start(self, total: int, desc: str) -> None:
        if self.enabled:
            from tqdm import tqdm

            self.bar = tqdm(total=total, desc=desc, unit="tok", unit_scale=True, dynamic_ncols=True, file=sys.stderr)

    def __call__(self, n: int) -> None:
        if self.bar is not None:
            self.bar.update(n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None
