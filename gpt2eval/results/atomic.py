"""Files written whole or not at all, and one writer per result file.

``write_text`` writes a temp file with a unique name in the destination's folder (same file
system, so the rename is atomic) and renames it over the destination: a reader sees the old
file or the new one, never half of one, and two writers never share a temp file.

``OutputLock`` keeps a second process from computing into an output another one is
writing: an exclusive ``flock`` on a hidden ``.<name>.lock`` beside it, taken before the
model loads and released by the OS when the process ends, however it ends.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

from gpt2eval.errors import UsageError


def write_text(path: Path, text: str) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class OutputLock:
    """Exclusive locks on result paths, held until ``release`` or the process ends."""

    def __init__(self):
        self.held: list[int] = []

    def acquire(self, path: Path) -> None:
        try:
            import fcntl
        except ImportError:  # no flock (Windows): concurrent writers still never corrupt a file
            return
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path.parent / f".{path.name}.lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise UsageError(f"another gpt2eval process is writing {path}: wait for it to finish, or pass another --output") from None
        self.held.append(fd)

    def release(self) -> None:
        for fd in self.held:
            os.close(fd)
        self.held = []
