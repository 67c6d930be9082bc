"""Private files written atomically: mode 0600, temp file + rename, optionally fsync'd (file and folder)."""
from __future__ import annotations

import os
from pathlib import Path


def write_private(path: str | os.PathLike, data: bytes, *, durable: bool = False) -> None:
    """Replace `path` with `data` atomically, readable by the owner only.

    durable=True fsyncs the file before the rename and the folder after it, so the new content survives a
    crash or power loss once this returns (the journal needs that before a commit is sent).
    """
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        if durable:
            os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    if durable:
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
