"""Finding each job's files in a run folder.

A demo run keeps each job in its own sub-folder (``territory/``,
``forecast_ibm/``, ...); a stand-alone job run has its files at the top.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from spmopt._paths import path_problem
from spmopt.errors import DataError


@dataclass(frozen=True)
class SectionSpec:
    """Where one report section looks for its files.

    Attributes
    ----------
    key : str
        Section id, also the id of its HTML element.
    title : str
        Heading shown in the report.
    folders : tuple of str
        Sub-folders tried in order; ``""`` is the run's top folder.
    marker : str
        File whose presence means the job ran.
    optional : bool
        Shown only when present, never listed as missing (jobs outside
        the planning chain, such as exact payouts).
    """

    key: str
    title: str
    folders: tuple[str, ...]
    marker: str
    optional: bool = False


def find_folders(run_dir: Path, spec: SectionSpec) -> list[Path]:
    """Folders of ``run_dir`` holding ``spec.marker``, in ``spec.folders`` order.

    The top folder counts only when no sub-folder has the marker, so a demo
    run is not reported twice.
    """
    found = [
        run_dir / sub
        for sub in spec.folders
        if sub and written(run_dir / sub / spec.marker)
    ]
    if not found and "" in spec.folders and written(run_dir / spec.marker):
        found = [run_dir]
    return found


def written(path: Path) -> bool:
    """True when a job wrote the file ``path``, False when it is absent.

    Raises
    ------
    DataError
        When something is there that cannot be read as a file (a folder, a
        device, a file without read permission).
    """
    problem = path_problem(path)
    if problem is None:
        return True
    if problem.kind == "missing":
        return False
    raise DataError(f"run folder: {problem}")


def expected_paths(spec: SectionSpec) -> str:
    """Human-readable list of where ``spec.marker`` was looked for."""
    paths = [f"{sub}/{spec.marker}" if sub else spec.marker for sub in spec.folders]
    return " or ".join(paths)


def read_json(path: Path) -> dict[str, Any]:
    """Read a JSON object; missing file gives an empty dict."""
    if not written(path):
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise DataError(f"{path}: not valid JSON: {exc}") from None
    return data if isinstance(data, dict) else {}


def read_csv(path: Path) -> pd.DataFrame | None:
    """Read a CSV written by a job, or None when it is absent or empty."""
    if not written(path):
        return None
    try:
        frame = pd.read_csv(path)
    except (pd.errors.EmptyDataError, pd.errors.ParserError) as exc:
        raise DataError(f"{path}: cannot read table: {exc}") from None
    return frame if not frame.empty else None
