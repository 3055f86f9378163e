"""What keeps a path from being read as a file, said once for every reader.

Config files, files a config names and tables are all refused for the same
reasons: missing, a folder, a device (or pipe, socket) or unreadable.
:func:`path_problem` finds the reason; each caller words its own error
around it (its error class, the field or config it names).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

ProblemKind = Literal["missing", "folder", "special", "unreadable"]


@dataclass(frozen=True)
class PathProblem:
    """Why ``path`` cannot be read as a file.

    ``kind`` is ``missing``, ``folder``, ``special`` (a device, pipe or
    socket) or ``unreadable`` (with the system's ``reason``, e.g.
    ``permission denied``). ``str()`` gives the shared wording, e.g.
    ``file not found: <path>`` or ``<path> is a folder, not a file``.
    """

    kind: ProblemKind
    path: Path
    reason: str = ""

    def __str__(self) -> str:
        if self.kind == "missing":
            return f"file not found: {self.path}"
        if self.kind == "folder":
            return f"{self.path} is a folder, not a file"
        if self.kind == "special":
            return f"{self.path} is not a regular file (a device, pipe or socket)"
        return f"cannot read {self.path} ({self.reason})"


def path_problem(path: str | Path) -> PathProblem | None:
    """What keeps ``path`` from being read as a regular file; None if nothing.

    Only the file system is asked (nothing is read): a file that exists but
    cannot be opened for reading is ``unreadable``.
    """
    path = Path(path)
    try:
        if path.is_dir():
            return PathProblem("folder", path)
        if not path.exists():
            return PathProblem("missing", path)
        if not path.is_file():
            return PathProblem("special", path)
    except OSError as exc:  # e.g. a name too long, a folder that cannot be listed
        return PathProblem("unreadable", path, _reason(exc))
    if not os.access(path, os.R_OK):
        return PathProblem("unreadable", path, "permission denied")
    return None


def _reason(exc: OSError) -> str:
    """The system's reason for ``exc``, lower case, e.g. ``file name too long``."""
    return (exc.strerror or str(exc)).lower()
