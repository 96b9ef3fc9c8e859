"""Output paths checked before any work, so a result is never lost at the moment it is written.

Nothing is created here: a check looks at the path and the nearest folder above it that
exists (which must be a writable folder, since the file is written there by a rename).
"""
from __future__ import annotations

import os
from pathlib import Path

from gpt2eval.errors import UsageError


def check_output_file(path, option: str = "--output") -> Path:
    """``path`` can be written as a file: not a folder, below writable folders only."""
    path = Path(path)
    if path.is_dir():
        raise UsageError(f"{option} {path} is an existing folder: pass a file name, or a folder for several tasks")
    if path.exists() and not os.access(path, os.W_OK):
        raise UsageError(f"{option} {path} exists and is not writable: pass another path")
    _check_parents(path, option)
    return path


def check_output_dir(path, option: str = "--output") -> Path:
    """``path`` can hold files: a writable folder, or one that can be made."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise UsageError(f"{option} {path} is a file, not a folder: pass a folder")
    if path.is_dir() and not os.access(path, os.W_OK | os.X_OK):
        raise UsageError(f"{option} {path} is a folder you cannot write to: pass another folder")
    _check_parents(path, option)
    return path


def _check_parents(path: Path, option: str) -> None:
    for parent in path.absolute().parents:
        if not parent.exists():
            continue
        if not parent.is_dir():
            raise UsageError(f"{option} {path}: {parent} is a file, so nothing can be written under it: pass another path")
        if not os.access(parent, os.W_OK | os.X_OK):
            raise UsageError(f"{option} {path}: cannot write in {parent} (permission denied): pass another path")
        return
