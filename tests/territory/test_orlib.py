"""The OR-Library pmedcap reader and the benchmark's JSON lines."""

from __future__ import annotations

import importlib.util
import json
import math
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from spmopt.errors import DataError
from spmopt.territory.orlib import read_pmedcap, truncated_distances

REPO = Path(__file__).resolve().parents[2]
TINY = " 1 3\n 2 1 100\n 1 0 0 5\n 2 3 0 5\n"


def write(tmp_path: Path, text: str, name: str = "p.txt") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def bench() -> ModuleType:
    path = REPO / "experiments" / "bench_territory_orlib.py"
    spec = importlib.util.spec_from_file_location("bench_territory_orlib", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_reads_tiny_file(tmp_path: Path) -> None:
    (inst,) = read_pmedcap(write(tmp_path, TINY, "tiny.txt"))
    assert (inst.name, inst.n, inst.p, inst.capacity) == ("tiny", 2, 1, 100)
    assert inst.best_known == 3
    assert inst.demand.tolist() == [5, 5]
    assert truncated_distances(inst).tolist() == [[0, 3], [3, 0]]


def test_blank_lines_and_problem_count_line(tmp_path: Path) -> None:
    text = "2\n\n" + TINY + "\n" + TINY.replace(" 1 3\n", " 2 4\n", 1)
    first, second = read_pmedcap(write(tmp_path, text, "two.txt"))
    assert (first.name, second.name) == ("two#1", "two#2")
    assert (first.best_known, second.best_known) == (3, 4)


@pytest.mark.parametrize(
    ("text", "line", "expected", "got"),
    [
        (TINY.replace("2 3 0 5", "2 3 x 5"), 4, "4 numbers 'point_id x y", "'x' in"),
        (
            TINY.replace("2 3 0 5", "2 3 0"),
            4,
            "point 2 of 2",
            "end of the file after 3",
        ),
        (TINY.replace(" 2 3 0 5\n", ""), 3, "point 2 of 2", "the end of the file"),
        (TINY.replace(" 1 3\n", " a 3\n"), 1, "2 numbers 'problem_number", "'a'"),
        (TINY + " 9\n", 5, "2 numbers 'problem_number", "end of the file after 1"),
        (TINY.replace("2 1 100", "2 3 100"), 2, "1 <= p <= n", "p=3"),
        (TINY.replace("2 1 100", "2.5 1 100"), 2, "n, p whole", "n=2.5"),
        (TINY.replace("2 1 100", "2 1 0"), 2, "capacity > 0", "capacity=0"),
        (TINY.replace("2 3 0 5", "2 3 0 -5"), 4, "demand >= 0", "demand -5"),
        (TINY.replace("2 3 0 5", "2 3 nan 5"), 4, "4 numbers", "'2 3 nan 5'"),
        ("3\n" + TINY, 1, "3 problem(s) as stated", "got 1"),
        ("1\n" + TINY + TINY, 6, "end of the file after the 1 problem", "'1' in"),
    ],
)
def test_malformed_file_names_file_line_and_expectation(
    tmp_path: Path, text: str, line: int, expected: str, got: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(DataError) as info:
        read_pmedcap(path)
    message = str(info.value)
    assert message.startswith(f"{path}, line {line}: expected ")
    assert expected in message and got in message


def test_missing_and_empty_files(tmp_path: Path) -> None:
    with pytest.raises(DataError) as info:
        read_pmedcap(tmp_path / "absent.txt")
    assert str(info.value) == f"pmedcap file not found: {tmp_path / 'absent.txt'}"
    with pytest.raises(DataError) as info:
        read_pmedcap(tmp_path)
    assert str(info.value) == f"pmedcap file: {tmp_path} is a folder, not a file"
    with pytest.raises(DataError, match="empty"):
        read_pmedcap(write(tmp_path, "\n \n"))


def test_json_line_writes_null_for_non_finite() -> None:
    row = {"a": float("nan"), "b": [float("inf"), 1.5], "c": {"d": -math.inf}}
    assert json.loads(bench().json_line(row)) == {
        "a": None,
        "b": [None, 1.5],
        "c": {"d": None},
    }


@pytest.mark.parametrize(
    ("base", "ours", "ratio"),
    [(0.0, 0.0, None), (0.01, 0.0, None), (1.0, math.nan, None), (3.0, 1.5, 2.0)],
)
def test_speedup_is_null_when_undefined(
    base: float, ours: float, ratio: float | None
) -> None:
    assert bench().speedup(base, ours) == ratio


def test_relative_gap_is_null_when_undefined() -> None:
    gap = bench().relative_gap
    assert gap(0.0, 0.0) == 0.0
    assert gap(0.0, -1.0) is None and gap(math.nan, 1.0) is None
    assert gap(100.0, 99.0) == pytest.approx(0.01)


def test_bench_on_tiny_and_malformed_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tiny = write(tmp_path, TINY, "tiny.txt")
    bad = write(tmp_path, TINY.replace("2 3 0 5", "2 3 x 5"), "bad.txt")
    argv = ["--limit", "5", "--solvers", "highs_plain,spmopt_design"]
    code = bench().main([*argv, str(bad), str(tiny)])
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert code == 1
    assert rows[0] == {
        "file": str(bad),
        "error": f"{bad}, line 4: expected 4 numbers 'point_id x y demand' "
        "(demand >= 0), point 2 of 2, got 'x' in '2 3 x 5' (pmedcap format)",
    }
    solved = [r for r in rows if r.get("instance") == "tiny"]
    assert [r["objective"] for r in solved] == [3.0, 3.0]
    ratio = rows[-1]
    assert ratio["summary"] == "speedup_vs_highs_plain"
    assert ratio["ratio"] is None or 0 < ratio["ratio"] < np.inf
