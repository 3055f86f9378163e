"""The solve job end to end: files, contract columns, determinism."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from spmopt.config import load_config, parse_config
from spmopt.errors import InfeasibleError
from spmopt.runs import RunWriter
from spmopt.territory import TerritoryConfig, run_solve
from tests.conftest import CONFIGS

SOUTH_CAROLINA = {
    "units": {
        "table": "bundled:us_counties",
        "id": "geoid",
        "potential": {"column": "establishments"},
        "workload": {"column": "establishments", "scale": 0.001, "per_unit": 1},
        "keep": {"state": ["SC"]},
    },
    "reps": {
        "default_capacity": 70,
        "rows": [
            {"rep_id": "CAE", "lat": 34.00, "lon": -81.03},
            {"rep_id": "CHS", "lat": 32.78, "lon": -79.93},
            {"rep_id": "GSP", "lat": 34.85, "lon": -82.40},
        ],
    },
    "current": "nearest",
    "balance": [{"measure": "potential", "tolerance": 0.05}],
    "solver": {"time_limit_seconds": 30, "workers": 2, "k_nearest": 3},
    "track": False,
}


def run(tmp_path: Path, name: str, data: dict | None = None) -> Path:
    cfg = parse_config(TerritoryConfig, data or SOUTH_CAROLINA)
    out = tmp_path / name
    run_solve(cfg, RunWriter(out), seed=0)
    return out


def test_contract_files_and_columns(tmp_path: Path) -> None:
    out = run(tmp_path, "a")
    assignments = pd.read_csv(out / "assignments.csv", dtype={"unit_id": str})
    for column in ("unit_id", "rep_id", "previous_rep_id", "moved", "reason"):
        assert column in assignments.columns
    assert len(assignments) == 46
    territories = pd.read_csv(out / "territories.csv")
    for column in ("capacity", "target_potential", "share_of_target", "distance_km"):
        assert column in territories.columns
    assert "potential_before" in territories.columns
    summary = json.loads((out / "summary.json").read_text())
    assert summary["status"] in ("optimal", "feasible")
    assert summary["max_balance_deviation"] <= 0.05 + 1e-6
    assert (territories["workload"] <= territories["capacity"] + 1e-9).all()
    assert territories["potential"].sum() == pytest.approx(
        assignments["potential"].sum()
    )
    moved = assignments[assignments["moved"]]
    assert (moved["reason"].str.len() > 0).all()
    assert (out / "map.html").stat().st_size > 10_000


def test_same_seed_same_files(tmp_path: Path) -> None:
    first, second = run(tmp_path, "a"), run(tmp_path, "b")
    for name in ("assignments.csv", "territories.csv", "map.html"):
        assert (first / name).read_bytes() == (second / name).read_bytes()


def test_tracking_records_run_id(tmp_path: Path) -> None:
    out = run(tmp_path, "t", {**SOUTH_CAROLINA, "track": True})
    summary = json.loads((out / "summary.json").read_text())
    assert len(summary["mlflow_run_id"]) == 32


def test_example_config_solves_balanced(tmp_path: Path) -> None:
    cfg = load_config(
        TerritoryConfig, CONFIGS / "territory" / "counties_southeast.yaml"
    )
    cfg = cfg.model_copy(update={"track": False})
    headline = run_solve(cfg, RunWriter(tmp_path / "se"), seed=0)
    assert headline["status"] == "optimal"
    assert headline["gap"] <= 0.001
    assert headline["max_balance_deviation"] <= 0.05 + 1e-6
    assert headline["n_reps"] == 12


def test_design_mode_names_territories(tmp_path: Path) -> None:
    rows = [
        f"u{i},{30 + (i % 5) * 0.2},{-85 + (i // 5) * 0.9},{5 + i}" for i in range(10)
    ]
    (tmp_path / "units.csv").write_text("unit_id,lat,lon,sales\n" + "\n".join(rows))
    data = {
        "mode": "design",
        "units": {"table": "units.csv", "potential": {"column": "sales"}},
        "design": {"territories": 2, "capacity": 6},
        "balance": [{"measure": "potential", "tolerance": 0.3}],
        "solver": {"workers": 1, "time_limit_seconds": 20, "relative_gap": 0},
        "track": False,
    }
    cfg = parse_config(TerritoryConfig, data, base_dir=tmp_path)
    headline = run_solve(cfg, RunWriter(tmp_path / "d"), seed=0)
    assert headline["status"] == "optimal"
    territories = pd.read_csv(tmp_path / "d" / "territories.csv")
    assert territories["rep_id"].tolist() == ["T01", "T02"]
    assert set(territories["centre_unit_id"]) <= {f"u{i}" for i in range(10)}
    assert (territories["units"] <= 6).all()
    assert (territories["share_of_target"].between(0.7, 1.3)).all()
    summary = json.loads((tmp_path / "d" / "summary.json").read_text())
    figures = {k: v for k, v in summary.items() if isinstance(v, float)}
    assert "lagrange_bound" in figures
    assert all(round(v, 9) == v for v in figures.values()), figures


@pytest.mark.slow
def test_contiguous_counties(tmp_path: Path) -> None:
    from spmopt.territory.contiguity import components, delaunay_edges

    data = {**SOUTH_CAROLINA, "contiguity": {"adjacency": "delaunay"}}
    data["balance"] = [{"measure": "potential", "tolerance": 0.15}]
    out = run(tmp_path, "c", data)
    frame = pd.read_csv(out / "assignments.csv", dtype={"unit_id": str})
    edges = delaunay_edges(frame["lat"].to_numpy(), frame["lon"].to_numpy())
    for rep in frame["rep_id"].unique():
        members = (frame["rep_id"] == rep).to_numpy()
        assert components(len(frame), edges, members) == 1


def test_map_of_planar_data_uses_plain_axes(make_problem) -> None:  # type: ignore[no-untyped-def]
    from spmopt.territory.mapplot import alignment_figure

    p = make_problem(1, n_units=6, n_reps=2, with_current=True)
    fig = alignment_figure(p, p.current)
    assert {trace.type for trace in fig.data} == {"scatter"}
    assert len(fig.data) == 2 * 2 + 1  # reps x (after, before) + bases


def test_design_example_config_solves(tmp_path: Path) -> None:
    path = CONFIGS / "territory" / "counties_design_carolina.yaml"
    cfg = load_config(TerritoryConfig, path).model_copy(update={"track": False})
    headline = run_solve(cfg, RunWriter(tmp_path / "design"), seed=0)
    assert headline["status"] in ("optimal", "feasible")
    assert headline["n_reps"] == 4
    assert headline["max_balance_deviation"] <= 0.15 + 1e-6
    assert "moved_share" not in headline  # nothing moves in a design


@pytest.mark.parametrize(
    ("status", "balance", "says", "not_says"),
    [
        ("unknown", [], "found within the work limit", "widen the balance band"),
        ("infeasible", [], "satisfies the constraints", "widen the balance band"),
        ("infeasible", [{"measure": "potential"}], "widen the balance band", "limit"),
    ],
)
def test_no_design_says_whether_it_is_impossible_or_out_of_time(
    tmp_path: Path, status: str, balance: list[object], says: str, not_says: str
) -> None:
    from spmopt.territory.designjob import _raise_no_design

    (tmp_path / "units.csv").write_text("unit_id,lat,lon,sales\nu1,30,-85,5\n")
    data = {
        "mode": "design",
        "units": {"table": "units.csv", "potential": {"column": "sales"}},
        "design": {"territories": 1, "capacity": 6},
        "balance": balance,
        "solver": {"time_limit_seconds": 120, "deterministic_time": 60},
        "track": False,
    }
    cfg = parse_config(TerritoryConfig, data, base_dir=tmp_path)
    with pytest.raises(InfeasibleError) as caught:
        _raise_no_design(cfg, status)
    assert says in str(caught.value)
    assert not_says not in str(caught.value)


PLANAR_UNITS = (
    "unit_id,px,py,sales,owner\n"
    "a,0,0,10,R1\nb,1,0,12,R1\nc,0,1,9,R1\n"
    "d,10,10,11,R2\ne,11,10,10,R2\nf,10,11,12,R1\n"
)


def planar_config(tmp_path: Path) -> TerritoryConfig:
    (tmp_path / "units.csv").write_text(PLANAR_UNITS)
    data = {
        "units": {
            "table": "units.csv",
            "coords": "xy",
            "lat": "px",
            "lon": "py",
            "potential": {"column": "sales"},
            "current_owner": "owner",
        },
        "reps": {
            "rows": [
                {"rep_id": "R1", "lat": 0.5, "lon": 0.5},
                {"rep_id": "R2", "lat": 10.5, "lon": 10.5},
            ]
        },
        "balance": [{"measure": "potential", "tolerance": 0.2}],
        "solver": {"workers": 1, "relative_gap": 0},
        "track": False,
    }
    return parse_config(TerritoryConfig, data, base_dir=tmp_path)


def test_planar_run_names_columns_and_units_after_xy(tmp_path: Path) -> None:
    run_solve(planar_config(tmp_path), RunWriter(tmp_path / "xy"), seed=0)
    out = tmp_path / "xy"
    assignments = pd.read_csv(out / "assignments.csv")
    assert {"x", "y", "distance"} <= set(assignments.columns)
    assert not {"lat", "lon", "distance_km"} & set(assignments.columns)
    f = assignments.set_index("unit_id").loc["f"]
    assert (f["rep_id"], f["x"], f["y"]) == ("R2", 10, 11)
    assert f["distance"] == pytest.approx(np.hypot(0.5, 0.5))  # to R2 at (10.5, 10.5)
    territories = pd.read_csv(out / "territories.csv")
    assert {"distance", "distance_before"} <= set(territories.columns)
    assert not any("_km" in c for c in territories.columns)
    assert territories["distance"].sum() == pytest.approx(assignments["distance"].sum())
    summary = json.loads((out / "summary.json").read_text())
    assert summary["units"]["distance_column"] == "distance"
    assert summary["units"]["distance"].startswith("coordinate units")
    assert "km" not in json.dumps(summary)
    figure = (out / "map.html").read_text().split("Plotly.newPlot(")[-1]
    assert '"type":"scatter"' in figure and '"lat":' not in figure
    assert '"scaleanchor":"x"' in figure and '"scope":' not in figure


def test_latlon_run_keeps_lat_lon_and_km(tmp_path: Path) -> None:
    out = run(tmp_path, "ll")
    assignments = pd.read_csv(out / "assignments.csv", dtype={"unit_id": str})
    assert {"lat", "lon", "distance_km"} <= set(assignments.columns)
    assert not {"x", "y", "distance"} & set(assignments.columns)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["units"]["distance"] == "km (great-circle, haversine)"
    assert summary["objective_unit"] == "km"
    figure = (out / "map.html").read_text().split("Plotly.newPlot(")[-1]
    assert '"lat":' in figure and '"scope":"usa"' in figure


def test_design_whose_centres_cannot_reach_every_unit_is_refused(
    tmp_path: Path,
) -> None:
    # Two far-apart rows of 10 units; with k_nearest 2 a candidate is among
    # the nearest of at most 3 units, so 2 centres reach at most 6 of 20.
    rows = [f"u{i},{30 + (i // 10) * 5},{-100 + (i % 10) * 2},1" for i in range(20)]
    (tmp_path / "units.csv").write_text("unit_id,lat,lon,sales\n" + "\n".join(rows))
    data = {
        "mode": "design",
        "units": {"table": "units.csv", "potential": {"column": "sales"}},
        "design": {"territories": 2, "capacity": 20, "k_nearest": 2},
        "solver": {"workers": 1, "time_limit_seconds": 20},
        "track": False,
    }
    cfg = parse_config(TerritoryConfig, data, base_dir=tmp_path)
    with pytest.raises(InfeasibleError, match=r"reach only \d of 20 units.*k_nearest"):
        run_solve(cfg, RunWriter(tmp_path / "d"), seed=0)
    assert not (tmp_path / "d").exists()
