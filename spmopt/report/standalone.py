"""Sections of stand-alone runs outside the demo chain.

``territory pareto``, ``forecast score``, ``quota capacity``, ``quota
potential``, ``payout whatif`` and the ``scale sweep-*`` commands each
write their own files; each renderer here draws one of them. Renderers
have the signature of :mod:`spmopt.report.sections`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from spmopt.payout.calc import WHATIF_MONEY
from spmopt.report import figures as figs
from spmopt.report.html import figure, heading, missing, paragraph, table
from spmopt.report.locate import SectionSpec, read_csv, read_json
from spmopt.report.sections import Options, importance_figure, key_values

SCORE_MONEY = ("amount", "expected_value")
"""Columns of ``scores.csv`` in currency (as ``spmopt.forecast.score``)."""

_PARETO_FIGURES = ("compactness", "moved_share", "max_balance_deviation")


def pareto(folder: Path, prefix: str, options: Options) -> list[str]:
    """Points of a ``territory pareto`` run: trade-off chart, table, moves."""
    points = read_csv(folder / "pareto.csv")
    if points is None:
        return [missing("pareto.csv is empty.")]
    feasible = points.dropna(subset=[c for c in _PARETO_FIGURES if c in points])
    kept = int(points["non_dominated"].astype(str).str.lower().eq("true").sum())
    counts = {"points": len(points), "feasible": len(feasible), "non_dominated": kept}
    parts = [key_values(counts, list(counts))]
    if not feasible.empty and {"moved_share", "compactness"} <= set(feasible):
        group = "tolerance" if "tolerance" in feasible else None
        ordered = feasible.sort_values(["moved_share", "compactness"])
        title = "Compactness against share of potential moved (feasible points)"
        chart = figs.line_chart(ordered, "moved_share", "compactness", title, group)
        parts.append(figure(chart, f"{prefix}-tradeoff"))
    parts += [heading("Points"), table(points, max_rows=100)]
    return [*parts, *_pareto_moves(read_csv(folder / "pareto_assignments.csv"))]


def _pareto_moves(wide: pd.DataFrame | None) -> list[str]:
    """Units changing rep at each kept point (``pareto_assignments.csv``)."""
    if wide is None or "current_rep_id" not in wide:
        return [paragraph("No pareto_assignments.csv: moves per point unknown.")]
    points = [c for c in wide.columns if c not in ("unit_id", "current_rep_id")]
    if not points:
        return [paragraph("No feasible non-dominated point: no alignment kept.")]
    current = wide["current_rep_id"].astype(str)
    moved = {p: int((wide[p].astype(str) != current).sum()) for p in points}
    frame = pd.DataFrame({"point": points, "units_moved": list(moved.values())})
    note = f"Kept alignments ({len(wide)} units): pareto_assignments.csv."
    return [
        heading("Units moved per kept point"),
        table(frame),
        paragraph(note, "note"),
    ]


def score(folder: Path, prefix: str, options: Options) -> list[str]:
    """Open deals of a ``forecast score`` run: pipeline figures, top deals."""
    parts = [key_values(read_json(folder / "pipeline.json"))]
    scores = read_csv(folder / "scores.csv")
    if scores is None:
        return [*parts, missing("scores.csv is empty.")]
    p = scores["win_probability"].astype(float)
    count, edges = np.histogram(p.dropna(), bins=10, range=(0.0, 1.0))
    low, high = pd.Series(edges[:-1]), pd.Series(edges[1:])
    title = "Win probability of the open deals"
    chart = figs.histogram_bins(low, high, pd.Series(count), title, "win probability")
    parts.append(figure(chart, f"{prefix}-probability", 360))
    top = scores.sort_values(["expected_value", "deal_id"], ascending=[False, True])
    heading_ = f"Deals by expected won value (top {min(len(top), 25)})"
    return [*parts, heading(heading_), table(top, 25, money=SCORE_MONEY)]


def capacity(folder: Path, prefix: str, options: Options) -> list[str]:
    """Hiring plan of a ``quota capacity`` run: headcount and bookings."""
    # imported here: importing spmopt.quota loads its LP solvers (about 0.7 s)
    from spmopt.quota.capacity_job import PLAN_MONEY

    parts = [key_values(read_json(folder / "summary.json"))]
    plan = read_csv(folder / "headcount_plan.csv")
    if plan is None:
        return [*parts, missing("headcount_plan.csv is empty.")]
    staff = [c for c in ("expected_headcount", "ramped_fte") if c in plan]
    long = plan.melt(id_vars="month", value_vars=staff, var_name="figure")
    chart = figs.line_chart(long, "month", "value", "Headcount by month", "figure")
    parts.append(figure(chart, f"{prefix}-headcount", 360))
    if "hires_starting" in plan:
        hires = figs.bar_chart(
            plan["month"], plan["hires_starting"], "Hires starting", "hires", False
        )
        parts.append(figure(hires, f"{prefix}-hires", 300))
    if "cumulative_bookings" in plan:
        title = "Expected bookings to date"
        chart = figs.line_chart(plan, "month", "cumulative_bookings", title)
        parts.append(figure(chart, f"{prefix}-bookings", 360))
    return [*parts, heading("Plan by month"), table(plan, 60, money=PLAN_MONEY)]


def potential(folder: Path, prefix: str, options: Options) -> list[str]:
    """Account potential of a ``quota potential`` run: model, importance."""
    from spmopt.quota.potential_job import MONEY

    parts = [key_values(read_json(folder / "potential_metrics.json"))]
    parts += importance_figure(folder, prefix)
    table_ = read_csv(folder / "potential.csv")
    if table_ is None:
        return [*parts, missing("potential.csv is empty.")]
    return [*parts, heading("Potential per entity and period"),
            table(table_, 40, money=MONEY)]  # fmt: skip


def whatif(folder: Path, prefix: str, options: Options) -> list[str]:
    """Paid before and after a ``payout whatif`` change, per rep and period."""
    changes = read_csv(folder / "whatif_payouts.csv")
    if changes is None:
        return [missing("whatif_payouts.csv is empty: the change moves no payout.")]
    amounts = [c for c in WHATIF_MONEY if c in changes]
    totals = changes.groupby("rep_id", sort=True)[amounts].sum().reset_index()
    figures = {c: float(totals[c].sum()) for c in amounts}
    parts = [key_values({"reps_changed": len(totals), **figures})]
    chart = figs.bar_chart(
        totals["rep_id"], totals["difference"], "Change in pay per rep", "paid", False
    )
    parts += [figure(chart, f"{prefix}-difference", 360), heading("Totals per rep")]
    parts += [table(totals, money=amounts), heading("Per rep and period")]
    parts.append(table(changes, 100, money=WHATIF_MONEY))
    lines = read_csv(folder / "whatif_lines.csv")
    if lines is not None:
        # shown as written: line amounts carry more places than cents
        parts += [heading("Statement lines that change"), table(lines, 100)]
    return parts


def sweep(folder: Path, prefix: str, options: Options) -> list[str]:
    """Designs of a ``scale sweep-plans`` or ``sweep-disruption`` run."""
    parts = [key_values(read_json(folder / "summary.json"))]
    designs = read_csv(folder / "designs.csv")
    if designs is None:
        return [*parts, missing("designs.csv is empty.")]
    done = designs[designs["status"] == "ok"]
    quantiles = {"cost_p10", "cost_p50", "cost_p90"}
    if not done.empty and quantiles <= set(done.columns):
        chart = figs.percentile_chart(done.assign(plan=done["design"]))
        parts.append(figure(chart, f"{prefix}-percentiles", 360))
    elif not done.empty and "objective" in done:
        title = "Objective per design"
        chart = figs.bar_chart(done["design"], done["objective"], title, "", False)
        parts.append(figure(chart, f"{prefix}-objective", 360))
    money = [c for c in designs.columns if c.startswith("cost_") and "pct" not in c]
    return [*parts, heading("Designs"), table(designs, 100, money=money)]


SECTIONS = tuple(
    (SectionSpec(key, title, (key, ""), marker, optional=True), render)
    for key, title, marker, render in (
        ("pareto", "Territory trade-offs", "pareto_assignments.csv", pareto),
        ("score", "Open-pipeline scores", "scores.csv", score),
        ("capacity", "Hiring plan", "headcount_plan.csv", capacity),
        ("potential", "Account potential", "potential.csv", potential),
        ("whatif", "What-if payouts", "whatif_payouts.csv", whatif),
        ("sweep", "Design sweep", "designs.csv", sweep),
    )
)
"""Sections shown only when their run's marker file is present."""
