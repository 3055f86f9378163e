"""The balance-versus-disruption sweep."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from spmopt.cli import main
from spmopt.territory.pareto import non_dominated

UNITS = "unit_id,lat,lon,sales\n" + "\n".join(
    f"u{i},{30 + (i % 4) * 0.3},{-85 + (i // 4) * 0.4},{5 + (i * 7) % 11}"
    for i in range(12)
)
CONFIG = """units:
  table: units.csv
  potential: {column: sales}
reps:
  rows:
    - {rep_id: A, lat: 30.0, lon: -85.0}
    - {rep_id: B, lat: 30.9, lon: -84.2}
    - {rep_id: C, lat: 30.0, lon: -83.8}
current: nearest
balance: [{measure: potential, tolerance: 0.05}]
solver: {time_limit_seconds: 10, workers: 1, relative_gap: 0}
pareto: {budgets: [0, 0.1, 0.3, 1.0], tolerances: [0.05, 0.5]}
track: false
"""


def test_non_dominated_filter() -> None:
    frame = pd.DataFrame(
        {"a": [1.0, 2.0, 1.0, 3.0, None, 1.0], "b": [2.0, 1.0, 3.0, 3.0, 0.0, 2.0]}
    )
    assert non_dominated(frame, ["a", "b"]).tolist() == [
        True,
        True,
        False,
        False,
        False,
        False,
    ]


def test_pareto_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "units.csv").write_text(UNITS)
    (tmp_path / "t.yaml").write_text(CONFIG)
    code = main(
        [
            "-q",
            "territory",
            "pareto",
            str(tmp_path / "t.yaml"),
            "--out",
            str(tmp_path / "run"),
        ]
    )
    assert code == 0, capsys.readouterr().err
    frame = pd.read_csv(tmp_path / "run" / "pareto.csv")
    assert len(frame) == 8
    feasible = frame.dropna(subset=["compactness"])
    assert (feasible["moved_share"] <= feasible["budget"] + 1e-9).all()
    assert (feasible["max_balance_deviation"] <= feasible["tolerance"] + 1e-6).all()
    tight = feasible[feasible["tolerance"] == 0.05].sort_values("budget")
    assert tight["compactness"].is_monotonic_decreasing
    wide = pd.read_csv(tmp_path / "run" / "pareto_assignments.csv")
    assert set(frame.loc[frame["non_dominated"], "point"]) == set(wide.columns[2:])


def test_pareto_needs_current_alignment(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "units.csv").write_text(UNITS)
    (tmp_path / "t.yaml").write_text(CONFIG.replace("current: nearest\n", ""))
    code = main(
        [
            "-q",
            "territory",
            "pareto",
            str(tmp_path / "t.yaml"),
            "--out",
            str(tmp_path / "run"),
        ]
    )
    assert code == 2
    assert "needs a current alignment" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


def test_pareto_with_no_feasible_point_explains(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "units.csv").write_text(UNITS)
    tiny = CONFIG.replace("    - {rep_id: A,", "    - {rep_id: A, capacity: 1,")
    tiny = tiny.replace("rep_id: B,", "rep_id: B, capacity: 1,")
    tiny = tiny.replace("rep_id: C,", "rep_id: C, capacity: 1,")
    (tmp_path / "t.yaml").write_text(tiny)
    args = ["territory", "pareto", str(tmp_path / "t.yaml")]
    assert main([*args, "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert "no alignment satisfies the constraints" in err and "capacity" in err
    assert not (tmp_path / "run").exists()
