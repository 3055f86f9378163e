"""Design mode of the solve job: checks before solving, the banded path."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from spmopt.config import parse_config
from spmopt.errors import InfeasibleError, TimeLimitWarning
from spmopt.runs import RunWriter
from spmopt.territory import TerritoryConfig, design, run_solve


def write_units(tmp_path: Path, values: list[float], rows: int = 1) -> None:
    """Units on ``rows`` rows 1 degree apart, 0.5 degree apart along each."""
    per_row = -(-len(values) // rows)
    lines = [
        f"u{i},{30 + i // per_row},{-100 + (i % per_row) * 0.5},{v}"
        for i, v in enumerate(values)
    ]
    (tmp_path / "units.csv").write_text("unit_id,lat,lon,sales\n" + "\n".join(lines))


def design_config(tmp_path: Path, territories: int, **extra: object) -> dict:
    data: dict = {
        "mode": "design",
        "units": {"table": "units.csv", "potential": {"column": "sales"}},
        "design": {"territories": territories},
        "solver": {"workers": 1, "time_limit_seconds": 20, "deterministic_time": 3},
        "track": False,
    }
    data.update(extra)
    return data


def solve(tmp_path: Path, data: dict) -> Path:
    cfg = parse_config(TerritoryConfig, data, base_dir=tmp_path)
    out = tmp_path / "run"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TimeLimitWarning)
        run_solve(cfg, RunWriter(out), seed=0)
    return out


def test_banded_large_design_with_few_nearest_is_not_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Two rows of 15 units, 3 territories: with k_nearest 2 no 3 candidates
    # are among the nearest of all units, but on the banded path k_nearest
    # counts open centres, so the design exists.
    values = [float(1 + i % 4) for i in range(30)]
    write_units(tmp_path, values, rows=2)
    monkeypatch.setattr(design, "LARGE_PAIRS", 100)
    data = design_config(tmp_path, 3, balance=[{"tolerance": 0.1}])
    data["design"]["k_nearest"] = 2
    out = solve(tmp_path, data)
    territories = pd.read_csv(out / "territories.csv")
    target = sum(values) / 3
    assert len(territories) == 3
    assert np.all(np.abs(territories["potential"] / target - 1) <= 0.1 + 1e-6)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["status"] in ("optimal", "feasible")
    assert summary["max_balance_deviation"] <= 0.1 + 1e-6


def test_band_total_below_every_minimum_is_explained(tmp_path: Path) -> None:
    write_units(tmp_path, [5.0] * 12)
    data = design_config(tmp_path, 3, balance=[{"tolerance": None, "min": 25}])
    with pytest.raises(InfeasibleError, match=r"total potential 60.0 is below 3 "):
        solve(tmp_path, data)
    assert not (tmp_path / "run").exists()


def test_band_total_above_every_maximum_is_explained(tmp_path: Path) -> None:
    write_units(tmp_path, [5.0] * 12)
    data = design_config(tmp_path, 3, balance=[{"tolerance": None, "max": 15}])
    with pytest.raises(InfeasibleError, match=r"exceeds 3 territories x the band max"):
        solve(tmp_path, data)


def test_impossible_band_on_the_banded_path_is_not_silent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # No subset of 10, 10, 10, 1 sums to 14-17: no design, though the totals
    # and every single unit fit the band.
    write_units(tmp_path, [10.0, 10.0, 10.0, 1.0])
    monkeypatch.setattr(design, "LARGE_PAIRS", 4)
    data = design_config(
        tmp_path, 2, balance=[{"tolerance": None, "min": 14, "max": 17}]
    )
    with pytest.raises(
        InfeasibleError,
        match=r"search for large balanced designs.*widen the balance band",
    ):
        solve(tmp_path, data)
    assert not (tmp_path / "run").exists()


def test_an_oversized_unit_names_fixes_that_design_mode_takes(tmp_path: Path) -> None:
    write_units(tmp_path, [5.0, 5.0, 5.0, 70.0])
    data = design_config(tmp_path, 3, balance=[{"tolerance": 0.2}])
    with pytest.raises(InfeasibleError) as caught:
        solve(tmp_path, data)
    message = str(caught.value)
    assert "unit u3 alone holds potential 70, above a territory's band max 34" in (
        message
    )
    assert "split it into several rows of the units table" in message
    assert "remedies" not in message  # design mode refuses remedies


def test_design_mode_with_contiguity_exits_2_before_any_output(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import yaml

    from spmopt.cli import main

    write_units(tmp_path, [5.0] * 6)
    data = design_config(tmp_path, 2, contiguity={"adjacency": "delaunay"})
    path = tmp_path / "t.yaml"
    path.write_text(yaml.safe_dump(data))
    code = main(["-q", "territory", "solve", str(path), "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert code == 2
    assert err == (
        f"error: {path}: field 'contiguity' is not supported in design mode (mode: "
        "design); remove it, or run mode: rebalance with the designed centres as "
        "reps\n"
    )
    assert not (tmp_path / "o").exists()
