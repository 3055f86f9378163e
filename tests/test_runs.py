import json
import os
import stat
from pathlib import Path

import pandas as pd
import pytest

from spmopt.runs import RunDir, neutralise_for_spreadsheet


def test_run_publishes_files_and_manifest(tmp_path: Path) -> None:
    out = tmp_path / "runs" / "run"
    with RunDir(out, "unit", config={"a": 1}, seed=7) as run:
        run.write_csv("t.csv", pd.DataFrame({"x": [1, 2]}))
        run.view("sub").write_json("s.json", {"b": float("nan")})
        run.headline["rows"] = 2
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["seed"] == 7
    assert manifest["headline"] == {"rows": 2}
    assert set(manifest["files"]) == {"t.csv", "sub/s.json"}
    assert json.loads((out / "sub" / "s.json").read_text()) == {"b": None}
    assert [p.name for p in out.parent.iterdir()] == ["run"]


def test_failed_run_leaves_nothing_and_keeps_previous(tmp_path: Path) -> None:
    out = tmp_path / "runs" / "run"
    with RunDir(out, "unit") as run:
        run.write_text("keep.txt", "old")
    with pytest.raises(ValueError), RunDir(out, "unit") as run:
        run.write_text("new.txt", "half")
        raise ValueError("boom")
    assert (out / "keep.txt").read_text() == "old"
    assert not (out / "new.txt").exists()
    assert [p.name for p in out.parent.iterdir()] == ["run"]


def test_spreadsheet_cells_are_neutralised() -> None:
    frame = pd.DataFrame({"name": ["=cmd()", "+1", "-x", "@a", "ok"], "v": [-1] * 5})
    safe = neutralise_for_spreadsheet(frame)
    assert safe["name"].tolist() == ["'=cmd()", "'+1", "'-x", "'@a", "ok"]
    assert safe["v"].tolist() == [-1] * 5


def test_outputs_follow_the_umask(tmp_path: Path) -> None:
    out = tmp_path / "run"
    with RunDir(out, "unit") as run:
        run.write_text("a.txt", "x")
    mask = os.umask(0o022)
    os.umask(mask)
    assert stat.S_IMODE((out / "a.txt").stat().st_mode) == 0o666 & ~mask
    assert stat.S_IMODE(out.stat().st_mode) == 0o777 & ~mask
