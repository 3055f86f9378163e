"""Side-by-side pricing of several plan designs (``spmopt payout compare``).

Every design is simulated with the same reps, attainment model and seed,
so the designs see the same simulated years (common random numbers) and
their differences are not Monte-Carlo noise.
"""

from __future__ import annotations

import re
from typing import Any

import pandas as pd

from spmopt.payout.engine import PayoutEngine
from spmopt.payout.plan import PlanConfig
from spmopt.payout.simulate import SimulateConfig, headline_of, run_simulate
from spmopt.runs import RunWriter

_SAFE = re.compile(r"[^A-Za-z0-9_.-]+")
COLUMNS = [
    "plan",
    "cost_mean",
    "cost_p5",
    "cost_p10",
    "cost_p50",
    "cost_p90",
    "cost_p95",
    "cost_p99",
    "cost_cvar95",
    "cost_at_mean_attainment",
    "accelerator_gap_pct",
    "cost_pct_revenue",
    "p_any_cap",
    "mc_standard_error",
]
MONEY = [
    *(c for c in COLUMNS if c.startswith("cost_") and c != "cost_pct_revenue"),
    "mc_standard_error",
]
"""Columns of ``comparison.csv`` in the plans' currency."""


def design_names(plans: list[PlanConfig]) -> list[str]:
    """Unique folder-safe names of the designs (plan name, numbered if repeated)."""
    names: list[str] = []
    for i, plan in enumerate(plans):
        name = _SAFE.sub("_", plan.name)
        names.append(f"{name}_{i + 1}" if name in names else name)
    return names


def check_designs(cfg: SimulateConfig, plans: list[PlanConfig]) -> None:
    """Validate every design against the config's reps before any work."""
    from spmopt.payout.simulate import load_inputs

    for plan in plans:
        _, book = load_inputs(cfg.model_copy(update={"plan": plan}))
        PayoutEngine(plan, book).check_aggregate()


def run_compare(
    cfg: SimulateConfig, out: RunWriter, seed: int, plans: list[PlanConfig]
) -> dict[str, Any]:
    """Simulate each design into its own sub-folder and tabulate them.

    Writes ``comparison.csv`` (one row per design) and ``plots.html``
    (cost distributions and payout curves overlaid), plus the full
    ``simulate`` outputs of each design under ``<design>/``.
    """
    rows = []
    for name, plan in zip(design_names(plans), plans, strict=True):
        design = cfg.model_copy(update={"plan": plan})
        run_simulate(design, out.view(name), seed)
        rows.append(_row(name, out.view(name)))
    table = pd.DataFrame(rows, columns=COLUMNS)
    decimals = max(plan.rounding.decimals for plan in plans)
    out.write_csv("comparison.csv", _rounded(table, decimals), MONEY, decimals)
    out.write_text("plots.html", _plots(out, table))
    cheapest = table.loc[table["cost_mean"].idxmin(), "plan"]
    return {"n_designs": len(plans), "cheapest_mean_cost": str(cheapest)}


def _row(name: str, view: RunWriter) -> dict[str, Any]:
    import json

    summary = json.loads(view.file("summary.json").read_text())
    cost = summary["cost"]
    headline = headline_of(summary)
    return {
        "plan": name,
        **{f"cost_{k}": cost[k] for k in ("p5", "p10", "p50", "p90", "p95", "p99")},
        "cost_mean": cost["mean"],
        "cost_cvar95": cost["cvar95"],
        "cost_at_mean_attainment": headline["cost_at_mean_attainment"],
        "accelerator_gap_pct": summary["accelerator_gap_pct"],
        "cost_pct_revenue": summary["cost_pct_revenue"],
        "p_any_cap": summary["p_any_cap"],
        "mc_standard_error": summary["mc_standard_error"],
    }


def _rounded(table: pd.DataFrame, decimals: int) -> pd.DataFrame:
    """Money to ``decimals`` places, percentages and probabilities to 6."""
    out = table.copy()
    out[MONEY] = out[MONEY].astype(float).round(decimals)
    shares = ["accelerator_gap_pct", "cost_pct_revenue", "p_any_cap"]
    out[shares] = out[shares].astype(float).round(6)
    return out


def _plots(out: RunWriter, table: pd.DataFrame) -> str:
    import plotly.graph_objects as go

    cost, curve = go.Figure(), go.Figure()
    for name in table["plan"]:
        dist = pd.read_csv(out.view(name).file("cost_distribution.csv"))
        mids = (dist["cost_low"] + dist["cost_high"]) / 2
        share = dist["count"] / dist["count"].sum()
        cost.add_trace(go.Scatter(x=mids, y=share, mode="lines", name=name))
        pc = pd.read_csv(out.view(name).file("payout_curve.csv"))
        curve.add_trace(go.Scatter(x=pc["attainment"], y=pc["payout"], name=name))
    cost.update_layout(
        title="Yearly cost by design",
        xaxis_title="total payout",
        yaxis_title="share of scenarios",
        template="plotly_white",
    )
    curve.update_layout(
        title="Payout curve of a median rep by design",
        xaxis_title="attainment (1.0 = quota)",
        yaxis_title="yearly payout",
        template="plotly_white",
    )
    first = cost.to_html(
        full_html=False, include_plotlyjs=True, div_id="payout-compare-cost"
    )
    second = curve.to_html(
        full_html=False, include_plotlyjs=False, div_id="payout-compare-curve"
    )
    return (
        "<!DOCTYPE html>\n<html><head><meta charset='utf-8'><title>Plan designs"
        f"</title></head><body>\n<h1>Plan designs</h1>\n{first}\n{second}\n"
        "</body></html>\n"
    )
