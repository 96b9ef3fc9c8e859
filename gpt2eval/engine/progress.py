"""Signs of life on stderr: a tqdm bar on a terminal, a plain line every ~30 s in a log.

A run under nohup, SLURM or CI (stderr not a terminal) gets one line per ``interval``
seconds, with what a person checking the log wants: tokens done, tokens/s and an ETA::

    scoring: 1,245,184/3,452,160 tokens (36.1%), 11,871 tok/s, ETA 3m06s

Phases that are not token scoring (LAMBADA's stop-word search) announce themselves with
``note``, on a terminal and in a log alike. ``--quiet`` silences all of it.
"""
from __future__ import annotations

import sys
import time

INTERVAL = 30.0  # seconds between plain progress lines


class Progress:
    def __init__(self, enabled: bool = True, stream=None, interval: float | None = None, clock=time.monotonic):
        self.stream = stream or sys.stderr
        self.enabled = enabled
        self.tty = enabled and hasattr(self.stream, "isatty") and self.stream.isatty()
        self.interval, self.clock = INTERVAL if interval is None else interval, clock
        self.bar = None
        self.total = self.done = 0
        self.desc = ""
        self.label = ""  # the task being run, set by the command: "ptb scoring: ..."

    def start(self, total: int, desc: str) -> None:
        self.total, self.done, self.desc = total, 0, f"{self.label} {desc}".strip()
        self.started = self.last = self.clock()
        if self.tty:
            from tqdm import tqdm

            self.bar = tqdm(total=total, desc=desc, unit="tok", unit_scale=True, dynamic_ncols=True, file=self.stream)

    def __call__(self, n: int) -> None:
        self.done += n
        if self.bar is not None:
            self.bar.update(n)
        elif self.enabled and self.clock() - self.last >= self.interval:
            self.last = self.clock()
            self._line()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None
        elif self.enabled and self.total and self.clock() - self.started >= self.interval:
            self._line()  # a long phase ends with a line, so a log shows that it finished

    def note(self, text: str) -> None:
        """One line about a phase that has no token count (a terminal and a log alike)."""
        if self.enabled:
            print(text, file=self.stream, flush=True)

    def _line(self) -> None:
        seconds = max(self.clock() - self.started, 1e-9)
        rate = self.done / seconds
        left = (self.total - self.done) / rate if rate > 0 else float("inf")
        share = f" ({100 * self.done / self.total:.1f}%)" if self.total else ""
        print(f"{self.desc}: {self.done:,}/{self.total:,} tokens{share}, {rate:,.0f} tok/s, ETA {_duration(left)}",
              file=self.stream, flush=True)


def _duration(seconds: float) -> str:
    if seconds == float("inf"):
        return "?"
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}h{rest // 60:02d}m" if hours else f"{rest // 60}m{rest % 60:02d}s"
