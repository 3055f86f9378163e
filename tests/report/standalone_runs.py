"""Files of each stand-alone run the report draws (pareto, score, ...).

Shared by the section tests and the browser check.
"""

from __future__ import annotations

import json
from pathlib import Path

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

STANDALONE = {
    "pareto": PARETO,
    "score": SCORES,
    "capacity": CAPACITY,
    "potential": POTENTIAL,
    "whatif": WHATIF,
}
"""Files per stand-alone section key (the sweep has two kinds)."""


def write_files(folder: Path, files: dict[str, str]) -> Path:
    """Write ``{name: text}`` into ``folder`` (created)."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text)
    return folder
