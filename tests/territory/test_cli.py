"""`spmopt territory solve` from the command line, good and broken inputs."""

from __future__ import annotations

from pathlib import Path

import pytest

from spmopt.cli import main

UNITS = "unit_id,lat,lon,sales,visits\n" + "\n".join(
    f"u{i},{30 + i * 0.1},{-85 + (i % 4) * 0.3},{10 + i},{1 + i % 3}" for i in range(12)
)
CONFIG = """units:
  table: units.csv
  potential: {column: sales}
  workload: {column: visits}
reps:
  default_capacity: 20
  rows:
    - {rep_id: A, lat: 30.2, lon: -84.8}
    - {rep_id: B, lat: 31.0, lon: -84.5}
current: nearest
balance:
  - {measure: potential, tolerance: 0.1}
solver: {time_limit_seconds: 10, workers: 1}
track: false
"""


def write(tmp_path: Path, units: str = UNITS, config: str = CONFIG) -> Path:
    (tmp_path / "units.csv").write_text(units)
    path = tmp_path / "territory.yaml"
    path.write_text(config)
    return path


def run_cli(
    capsys: pytest.CaptureFixture[str], config: Path, out: Path
) -> tuple[int, str]:
    code = main(["-q", "territory", "solve", str(config), "--out", str(out)])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def test_solve_writes_run_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, text = run_cli(capsys, write(tmp_path), tmp_path / "run")
    assert code == 0, text
    assert "status: optimal" in text
    for name in ("assignments.csv", "territories.csv", "summary.json", "map.html"):
        assert (tmp_path / "run" / name).is_file()


def test_solve_with_contiguity(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = CONFIG + "contiguity: {adjacency: delaunay}\n"
    config = config.replace("tolerance: 0.1}", "tolerance: 0.3}")
    code, text = run_cli(capsys, write(tmp_path, config=config), tmp_path / "run")
    assert code == 0, text


BROKEN = {
    "missing config": (None, None, "config file not found"),
    "missing table": ("", CONFIG.replace("units.csv", "nope.csv"), "file not found"),
    "missing column": (UNITS.replace("sales", "revenue"), None, "missing column"),
    "wrong type": (UNITS.replace(",10,", ",ten,", 1), None, "must be a number"),
    "negative value": (
        UNITS.replace(",10,", ",-10,", 1),
        None,
        "must be a number >= 0",
    ),
    "unknown field": (None, CONFIG + "colour: red\n", "unknown field 'colour'"),
    "unknown current keyword": (
        None,
        CONFIG.replace("current: nearest", "current: furthest"),
        "neither the keyword 'nearest' nor an existing table file",
    ),
    "empty table": ("unit_id,lat,lon,sales,visits\n", None, "has no rows"),
    "bad tolerance": (None, CONFIG.replace("0.1}", "-0.1}"), "tolerance"),
    "bad adjacency": (
        None,
        CONFIG + "contiguity: {adjacency: adj.csv}\n",
        "adj.csv' is neither the keyword 'delaunay' nor an existing table file",
    ),
    "unknown remedy rep": (
        None,
        CONFIG + "remedies: {drop_reps: [ZZ]}\n",
        "territory.yaml: field 'remedies.drop_reps' names unknown rep 'ZZ'",
    ),
    "bad split": (
        None,
        CONFIG + "remedies: {split: {a: 1}}\n",
        "field 'remedies.split' is invalid: unit 'a' is cut into 1 parts; give 2 to "
        "100 parts",
    ),
    "lp_round with contiguity": (
        None,
        CONFIG.replace("workers: 1}", "workers: 1, method: lp_round}")
        + "contiguity: {adjacency: delaunay}\n",
        "lp_round does not support contiguity",
    ),
    "potential all zero": (
        "unit_id,lat,lon,sales,visits\n"
        + "\n".join(f"u{i},{30 + i * 0.1},-85,0,1" for i in range(6)),
        None,
        "every unit's potential is 0, so there is nothing to balance",
    ),
    "infeasible capacity": (
        None,
        CONFIG.replace("default_capacity: 20", "default_capacity: 5"),
        "total workload 24.0 exceeds total capacity 10.0",
    ),
}


@pytest.mark.parametrize("case", list(BROKEN))
def test_broken_inputs(
    case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    units, config, message = BROKEN[case]
    path = write(tmp_path, units if units is not None else UNITS, config or CONFIG)
    if case == "missing config":
        path = tmp_path / "absent.yaml"
    if case == "missing table":
        (tmp_path / "units.csv").unlink()
    code, text = run_cli(capsys, path, tmp_path / "run")
    assert code == 2
    assert message in text
    assert text.count("error:") == 1
    assert "Traceback" not in text
    assert not (tmp_path / "run").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".run")]
