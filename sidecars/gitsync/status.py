"""Files that tell other containers how syncing goes, as git-sync's: a touch file and an
error file. Both paths are absolute, or relative to the root."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

__all__ = ["StatusFiles"]


class StatusFiles:
    def __init__(self, root: Path, touch: Path | None, error: Path | None) -> None:
        self.touch = root / touch if touch is not None else None
        self.error = root / error if error is not None else None

    def published(self) -> None:
        """After a publish: the touch file's mtime says when (created if missing)."""
        if self.touch is not None:
            self.touch.parent.mkdir(parents=True, exist_ok=True)
            self.touch.touch()

    def succeeded(self) -> None:
        """After any successful sync: no error file."""
        if self.error is not None:
            with contextlib.suppress(FileNotFoundError):
                self.error.unlink()

    def failed(self, error: str) -> None:
        """After a failed sync: the error file holds its reason, replaced in one rename."""
        if self.error is not None:
            self.error.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.error.with_name(f".{self.error.name}.tmp")
            tmp.write_text(error + "\n")
            os.replace(tmp, self.error)
