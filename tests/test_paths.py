"""One classifier of unreadable paths, shared by configs and tables."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from spmopt._paths import path_problem
from spmopt.config import read_yaml
from spmopt.data import read_table
from spmopt.errors import ConfigError, DataError


def test_a_readable_file_has_no_problem(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("a\n1\n")
    assert path_problem(path) is None


def test_each_kind_and_its_wording(tmp_path: Path) -> None:
    missing = path_problem(tmp_path / "nope.csv")
    folder = path_problem(tmp_path)
    device = path_problem("/dev/null")
    assert missing is not None and folder is not None and device is not None
    assert (missing.kind, folder.kind, device.kind) == ("missing", "folder", "special")
    assert str(missing) == f"file not found: {tmp_path / 'nope.csv'}"
    assert str(folder) == f"{tmp_path} is a folder, not a file"
    assert str(device) == "/dev/null is not a regular file (a device, pipe or socket)"


def test_a_name_the_system_refuses_is_unreadable(tmp_path: Path) -> None:
    found = path_problem(tmp_path / ("a" * 5000))
    assert found is not None and found.kind == "unreadable"
    assert found.reason == "file name too long"


def test_a_file_without_read_permission_is_unreadable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "t.csv"
    path.write_text("a\n1\n")
    monkeypatch.setattr(os, "access", lambda *args, **kwargs: False)
    found = path_problem(path)
    assert found is not None and found.kind == "unreadable"
    assert str(found) == f"cannot read {path} (permission denied)"


def test_each_reader_words_an_unreadable_file_its_own_way(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    table, config = tmp_path / "t.csv", tmp_path / "c.yaml"
    table.write_text("a\n1\n")
    config.write_text("a: 1\n")
    monkeypatch.setattr(os, "access", lambda *args, **kwargs: False)
    with pytest.raises(DataError) as data_error:
        read_table(table, name="credits")
    assert str(data_error.value) == f"credits: cannot read {table} (permission denied)"
    with pytest.raises(ConfigError) as config_error:
        read_yaml(config, "--plan file")
    assert str(config_error.value) == (
        f"{config}: cannot read the --plan file (permission denied)"
    )
