"""Report sections of stand-alone runs (pareto, score, capacity, ...)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest

from spmopt.report import build_report


def _run(root: Path, job: str, files: dict[str, str]) -> Path:
    root.mkdir(parents=True)
    for name, text in files.items():
        (root / name).write_text(text)
    manifest = {"job": job, "seed": 0, "headline": {}, "packages": {}}
    (root / "manifest.json").write_text(json.dumps(manifest))
    return root


PARETO = {
    "pareto.csv": (
        "budget,tolerance,status,compactness,moved_share,max_balance_deviation,"
        "gap,non_dominated,point\n"
        "0.0,0.05,infeasible,,,,,False,P01\n"
        "0.2,0.05,optimal,900.5,0.2,0.05,0.001,True,P02\n"
        "0.5,0.05,optimal,880.0,0.24,0.049,0.0,True,P03\n"
    ),
    "pareto_assignments.csv": (
        "unit_id,current_rep_id,P02,P03\nu1,A,A,B\nu2,B,A,A\nu3,B,B,B\n"
    ),
}
SCORES = {
    "scores.csv": (
        "deal_id,win_probability,amount,expected_value,reason_1\n"
        "d1,0.250000,1000.00,250.00,x=1 (+0.10)\n"
        "d2,0.950000,4000.00,3800.00,y=2 (+0.50)\n"
        "d3,0.050000,100.00,5.00,z=3 (-0.20)\n"
    ),
    "pipeline.json": json.dumps(
        {
            "n_deals": 3,
            "expected_won_value": 4055.0,
            "won_value_p50": 4000.0,
            "mlflow_model_uri": "models:/m/1",
            "n_samples": 100,
        }
    ),
}
CAPACITY = {
    "headcount_plan.csv": (
        "month,requisitions_opened,hires_starting,expected_headcount,"
        "expected_leavers,ramped_fte,expected_bookings,cumulative_bookings\n"
        "1,4,0,15.0,0.3,14.1,1119705.88,1119705.88\n"
        "2,4,2,16.7,0.3,14.3,1293444.12,2413150.00\n"
    ),
    "summary.json": json.dumps(
        {
            "expected_bookings": 2413150.0,
            "target": 2400000.0,
            "hires_by_month": [0, 2],
            "solve_seconds": 0.01,
        }
    ),
}
WHATIF = {
    "whatif_payouts.csv": (
        "rep_id,period,paid_before,paid_after,difference\n"
        "R01,2027-Q2,16250.00,4050.01,-12199.99\n"
        "R01,2027-Q3,14650.00,11450.00,-3200.00\n"
        "R02,2027-Q2,1000.00,1500.00,500.00\n"
    ),
    "whatif_lines.csv": (
        "rep_id,period,section,kind,credit_id,tier,rate,before,after,difference\n"
        "R01,2027-Q2,revenue,slice,D005,1,1.0,8800.00,3800.01,-4999.99\n"
    ),
}
SWEEP_PLANS = {
    "designs.csv": (
        "design,status,plan,cost_mean,cost_p10,cost_p50,cost_p90,error\n"
        "acc,ok,ae_accelerator,481327.27,236407.73,462214.04,753793.13,\n"
        "lin,ok,linear,475163.56,361658.03,465613.27,600383.47,\n"
        "bad,error,,,,,,ConfigError: no plan\n"
    ),
    "summary.json": json.dumps({"n_designs": 3, "n_ok": 2, "n_error": 1}),
}
SWEEP_DISRUPTION = {
    "designs.csv": (
        "design,status,error,result_status,objective,bound,gap,moved_units\n"
        "budget=0.1,error,InfeasibleError: too tight,,,,,\n"
        "budget=0.3,ok,,optimal,88603.05,88536.66,0.0007,39\n"
    ),
    "summary.json": json.dumps({"n_designs": 2, "n_ok": 1, "n_error": 1}),
}
POTENTIAL = {
    "potential.csv": (
        "account,period,p10,p50,p90,last_period_bookings,trailing_mean\n"
        "Acme,2018-01,0.00,2742.83,15137.81,21096.00,9579.33\n"
    ),
    "importance.csv": "feature,importance\nbookings_lag3,0.12\nsector,0.05\n",
    "potential_metrics.json": json.dumps({"chosen_model": "lightgbm"}),
}

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
