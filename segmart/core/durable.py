"""fsync by path: a file's bytes, or a directory's entries (a rename is durable only then)."""

from __future__ import annotations

import os
from pathlib import Path


def fsync_path(path: Path, directory: bool = False) -> None:
    fd = os.open(path, os.O_RDONLY | (os.O_DIRECTORY if directory else 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
