"""Report sections of stand-alone runs (pareto, score, capacity, ...)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest

from spmopt.report import build_report
from tests.report.standalone_runs import (
    CAPACITY,
    PARETO,
    POTENTIAL,
    SCORES,
    SWEEP_DISRUPTION,
    SWEEP_PLANS,
    WHATIF,
    write_files,
)


def _run(root: Path, job: str, files: dict[str, str]) -> Path:
    write_files(root, files)
    manifest = {"job": job, "seed": 0, "headline": {}, "packages": {}}
    (root / "manifest.json").write_text(json.dumps(manifest))
    return root


CASES = {
    "territory-pareto": (PARETO, "pareto", {"pareto-tradeoff"}),
    "forecast.score": (SCORES, "score", {"score-probability"}),
    "quota-capacity": (
        CAPACITY,
        "capacity",
        {"capacity-headcount", "capacity-hires", "capacity-bookings"},
    ),
    "quota-potential": (POTENTIAL, "potential", {"potential-importance"}),
    "payout-whatif": (WHATIF, "whatif", {"whatif-difference"}),
    "scale-sweep-plans": (SWEEP_PLANS, "sweep", {"sweep-percentiles"}),
    "scale-sweep-disruption": (SWEEP_DISRUPTION, "sweep", {"sweep-objective"}),
}


def _section(text: str, key: str) -> str:
    return text.split(f"<section id='{key}'")[1].split("</section>")[0]


@pytest.mark.parametrize("job", sorted(CASES))
def test_each_stand_alone_run_gets_its_section(tmp_path: Path, job: str) -> None:
    files, key, figure_ids = CASES[job]
    text = build_report(_run(tmp_path / "run", job, files)).read_text()
    assert figure_ids <= set(re.findall(r"data-figure='([^']+)'", text))
    assert "Could not draw" not in text
    # the planning-chain sections are not listed as missing
    assert "Not in this run" not in text
    assert re.findall(r"<section id='([^']+)'", text) == ["overview", key]
    assert f"1 section(s) for this {job} run." in text


def test_pareto_section_counts_points_and_moves(tmp_path: Path) -> None:
    run = _run(tmp_path / "run", "territory-pareto", PARETO)
    section = _section(build_report(run).read_text(), "pareto")
    for name, count in (("points", 3), ("feasible", 2), ("non_dominated", 2)):
        assert f"<td class='text'>{name}</td><td>{count}</td>" in section
    # P02 moves u2 (B -> A); P03 moves u1 (A -> B) and u2
    moved = re.findall(r"<td class='text'>(P0\d)</td><td>(\d+)</td>", section)
    assert moved == [("P02", "1"), ("P03", "2")]


def test_whatif_totals_per_rep_add_up(tmp_path: Path) -> None:
    run = _run(tmp_path / "run", "payout-whatif", WHATIF)
    section = _section(build_report(run).read_text(), "whatif")
    changes = pd.read_csv(run / "whatif_payouts.csv")
    total = changes.loc[changes["rep_id"] == "R01", "difference"].sum()
    assert f"<td>{total:,.2f}</td>" == "<td>-15,399.99</td>"
    assert "<td>-15,399.99</td>" in section


def test_score_section_lists_deals_by_expected_value(tmp_path: Path) -> None:
    run = _run(tmp_path / "run", "forecast.score", SCORES)
    section = _section(build_report(run).read_text(), "score")
    order = re.findall(r"<td class='text'>(d\d)</td>", section)
    assert order == ["d2", "d1", "d3"]
    assert "<td>3,800.00</td>" in section
    assert "mlflow_model_uri" not in section  # volatile between runs


def test_unknown_run_type_says_what_the_report_covers(tmp_path: Path) -> None:
    run = _run(tmp_path / "run", "payout-explain", {"notes.txt": "x"})
    text = build_report(run).read_text()
    assert "nothing to show for this run (job payout-explain)" in text
    assert "territory solve and pareto" in text
