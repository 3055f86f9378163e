"""Finding and reading each job's files in a run folder."""

import os
from pathlib import Path

import pytest

from spmopt.cli import main
from spmopt.errors import DataError
from spmopt.report.locate import SectionSpec, find_folders, read_csv, read_json

SPEC = SectionSpec("quota", "Quotas", ("quota", ""), "quotas.csv")


def test_absent_files_are_empty_and_present_ones_read(tmp_path: Path) -> None:
    assert read_json(tmp_path / "summary.json") == {}
    assert read_csv(tmp_path / "quotas.csv") is None
    assert find_folders(tmp_path, SPEC) == []
    (tmp_path / "summary.json").write_text('{"status": "optimal"}')
    (tmp_path / "quotas.csv").write_text("rep_id,quota\na,5\n")
    assert read_json(tmp_path / "summary.json") == {"status": "optimal"}
    frame = read_csv(tmp_path / "quotas.csv")
    assert frame is not None and frame["quota"].tolist() == [5]
    assert find_folders(tmp_path, SPEC) == [tmp_path]
    (tmp_path / "quota").mkdir()
    (tmp_path / "quota" / "quotas.csv").write_text("rep_id,quota\na,5\n")
    assert find_folders(tmp_path, SPEC) == [tmp_path / "quota"]


@pytest.mark.parametrize("kind", ["folder", "pipe"])
def test_a_job_file_that_is_not_a_file_is_named(tmp_path: Path, kind: str) -> None:
    path = tmp_path / "quotas.csv"
    if kind == "folder":
        path.mkdir()
        said = f"run folder: {path} is a folder, not a file"
    else:
        os.mkfifo(path)  # read as a file, it would block the report
        said = f"run folder: {path} is not a regular file (a device, pipe or socket)"
    for read in (read_csv, read_json, lambda p: find_folders(p.parent, SPEC)):
        with pytest.raises(DataError) as caught:
            read(path)
        assert str(caught.value) == said


def test_report_of_a_run_whose_manifest_is_a_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "manifest.json").mkdir()
    assert main(["report", str(tmp_path)]) == 2
    captured = capsys.readouterr()
    manifest = tmp_path / "manifest.json"
    assert captured.err == f"error: run folder: {manifest} is a folder, not a file\n"
    assert "Traceback" not in captured.out + captured.err
    assert not (tmp_path / "report.html").exists()
