"""The report's sections, one renderer per job.

A renderer takes the folder holding a job's files and an id prefix and
returns HTML parts. Missing optional files are said in the section.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from spmopt.analytics.fairness import gini, spread_summary
from spmopt.analytics.scorecards import SCORED
from spmopt.payout.calc import PAYOUT_MONEY
from spmopt.payout.simulate import REP_MONEY
from spmopt.report import figures as figs
from spmopt.report.html import (
    figure,
    heading,
    link,
    missing,
    paragraph,
    table,
)
from spmopt.report.locate import read_csv, read_json


@dataclass(frozen=True)
class Options:
    """What every section renderer may need besides its folder.

    Attributes
    ----------
    run_dir : Path
        The run folder; links in the report are relative to it.
    include_mlflow : bool
        Show MLflow run ids (they differ between identical runs).
    job : str
        The run's job (``manifest.json``), so a section leaves out notes on
        files that kind of run never writes.
    """

    run_dir: Path
    include_mlflow: bool = False
    job: str = ""


VOLATILE_SUFFIXES = ("_seconds",)
VOLATILE_PREFIXES = ("mlflow_",)
VOLATILE_KEYS = ("started_at", "finished_at")


def is_volatile(key: str) -> bool:
    """True for keys that change between identical runs (times, MLflow ids).

    Keys prefixed with a section, such as ``forecast_ibm.mlflow_run_id``,
    are judged by their last part.
    """
    last = key.rsplit(".", 1)[-1]
    return (
        last.endswith(VOLATILE_SUFFIXES)
        or last.startswith(VOLATILE_PREFIXES)
        or last in VOLATILE_KEYS
    )


def key_values(data: dict[str, Any], keys: list[str] | None = None) -> str:
    """A two-column table of scalar entries of ``data``, volatile ones left out."""
    wanted = keys or sorted(data)
    rows = [
        (key, data[key])
        for key in wanted
        if key in data and not is_volatile(key) and _scalar(data[key])
    ]
    if not rows:
        return ""
    frame = pd.DataFrame(rows, columns=["figure", "value"])
    return table(frame, max_rows=60, css="kv")


def _scalar(value: Any) -> bool:
    return value is None or isinstance(value, str | int | float | bool)


def territory(folder: Path, prefix: str, options: Options) -> list[str]:
    """Map before/after, moves, balance and workload, Pareto curve."""
    summary = read_json(folder / "summary.json")
    assignments = read_csv(folder / "assignments.csv")
    territories = read_csv(folder / "territories.csv")
    parts = [key_values(summary)]
    if assignments is not None and figs.map_axes(assignments) is not None:
        parts.append(figure(figs.territory_map(assignments), f"{prefix}-map", 480))
    if territories is not None:
        tol = summary.get("balance_tolerance")
        chart = figs.balance_chart(territories, tol)
        parts.append(figure(chart, f"{prefix}-balance"))
        if "workload" in territories:
            chart = figs.workload_chart(territories)
            parts.append(figure(chart, f"{prefix}-workload"))
        parts += _fairness(territories, tol)
        parts += [heading("Territories"), table(territories)]
    parts += _moves(assignments)
    parts += _pareto(folder / "pareto.csv", prefix)
    return [*parts, *_page_links(folder, ("map.html",), options)]


def _page_links(folder: Path, names: tuple[str, ...], options: Options) -> list[str]:
    """Links to HTML pages a job wrote next to its tables."""
    parts = []
    for name in names:
        if (folder / name).is_file():
            href = (folder / name).relative_to(options.run_dir).as_posix()
            parts.append(
                f"<p class='note'>Also written by the job: {link(href, href)}</p>"
            )
    return parts


def _fairness(territories: pd.DataFrame, tolerance: float | None) -> list[str]:
    """Gini, max/min and share within the band, before and after."""
    if "target_potential" not in territories:
        return []
    band = 0.0 if tolerance is None else float(tolerance)
    target = territories["target_potential"]
    rows = {"after": spread_summary(territories["potential"], target, band)}
    if "potential_before" in territories:
        before = spread_summary(territories["potential_before"], target, band)
        rows = {"before": before, **rows}
    frame = pd.DataFrame(rows).T.rename_axis("alignment").reset_index()
    if tolerance is None:
        frame = frame.drop(columns="share_within_band")
        note = "No balance band in this run (no balance tolerance was set)."
    else:
        note = f"Band: ±{band:.0%} of each rep's target potential."
    return [heading("Fairness of potential"), table(frame), paragraph(note, "note")]


def _moves(assignments: pd.DataFrame | None) -> list[str]:
    if assignments is None or "moved" not in assignments:
        return [missing("No assignments.csv with a 'moved' column: moves unknown.")]
    moved = assignments[assignments["moved"].astype(str).str.lower().isin(_TRUE)]
    if moved.empty:
        return [heading("Moves"), paragraph("No unit changed rep.")]
    wanted = ["unit_id", "previous_rep_id", "rep_id", "reason", "potential"]
    columns = [c for c in wanted if c in moved.columns]
    count = paragraph(f"{len(moved)} of {len(assignments)} units change rep.")
    return [heading("Moves and reasons"), count, table(moved[columns], max_rows=50)]


_TRUE = ("true", "1", "yes", "1.0")


def _pareto(path: Path, prefix: str) -> list[str]:
    """The curve of a ``pareto.csv`` next to the alignment, when there is one.

    ``territory solve`` writes none (``territory pareto`` runs get their own
    section), so its absence is not noted.
    """
    frame = read_csv(path)
    if frame is None:
        return []
    x, y = _pareto_axes(frame)
    chart = figs.line_chart(frame, x, y, "Balance versus disruption")
    return [heading("Balance versus disruption"), figure(chart, f"{prefix}-pareto")]


def _pareto_axes(frame: pd.DataFrame) -> tuple[str, str]:
    numeric = [c for c in frame.columns if pd.api.types.is_numeric_dtype(frame[c])]
    x = next((c for c in numeric if "moved" in c or "disruption" in c), numeric[0])
    rest = [c for c in numeric if c != x]
    y = next((c for c in rest if "balance" in c or "deviation" in c), rest[0])
    return x, y


def forecast(folder: Path, prefix: str, options: Options) -> list[str]:
    """Model metrics, verdict, reliability curve, importance, MLflow run."""
    metrics = read_json(folder / "metrics.json")
    parts = [key_values(metrics), _mlflow(metrics, folder, options)]
    models = metrics.get("models") or {}
    if models:
        frame = pd.DataFrame(models).T.rename_axis("model").reset_index()
        parts += [heading("Models on the test set"), table(frame)]
    reliability = read_csv(folder / "reliability.csv")
    if reliability is not None:
        chart = figs.reliability_chart(reliability)
        parts.append(figure(chart, f"{prefix}-reliability"))
    return parts + importance_figure(folder, prefix)


def importance_figure(folder: Path, prefix: str) -> list[str]:
    """The 20 most important features of ``importance.csv``, if present."""
    importance = read_csv(folder / "importance.csv")
    if importance is None:
        return []
    top = importance.sort_values("importance", ascending=False).head(20)
    chart = figs.bar_chart(
        top["feature"], top["importance"], "Feature importance", "importance", True
    )
    return [figure(chart, f"{prefix}-importance", 520)]


def _mlflow(metrics: dict[str, Any], folder: Path, options: Options) -> str:
    """Where the MLflow run is; its id only on request (ids vary by run)."""
    run_id = metrics.get("mlflow_run_id")
    if not run_id:
        return paragraph("No MLflow run recorded.", "note")
    if not options.include_mlflow:
        path = (folder / "metrics.json").relative_to(options.run_dir).as_posix()
        here = link(path, path)
        return (
            f"<p class='note'>MLflow run: its id is in {here} "
            "(<code>mlflow_run_id</code>); browse runs with <code>mlflow ui</code>."
            "</p>"
        )
    uri = str(metrics.get("mlflow_tracking_uri") or "")
    if uri.startswith(("http://", "https://")):
        target = f"{uri.rstrip('/')}/#/runs/{run_id}"
        return f"<p>MLflow run: {link(str(run_id), target)}</p>"
    return paragraph(f"MLflow run {run_id}; browse it with `mlflow ui`.", "note")


def quota(folder: Path, prefix: str, options: Options) -> list[str]:
    """Quota distribution, quota against potential, attainment probabilities."""
    summary = read_json(folder / "summary.json")
    quotas = read_csv(folder / "quotas.csv")
    parts = [key_values(summary)]
    if quotas is None:
        return [*parts, missing("quotas.csv is empty.")]
    ordered = quotas.sort_values("quota", ascending=False)
    reps = ordered["rep_id"]
    parts.append(_quota_fairness(quotas))
    charts = [("quotas", ordered["quota"], "Quota per rep", "quota", 420)]
    if "potential" in quotas:
        ratio = ordered["quota"] / ordered["potential"].where(ordered["potential"] > 0)
        charts.append(("fairness", ratio, "Quota relative to potential", "ratio", 360))
    if "p_attain" in quotas:
        p_attain = ordered["p_attain"]
        charts.append(("attain", p_attain, "P(attain quota)", "probability", 420))
    for key, values, title, axis, height in charts:
        chart = figs.bar_chart(reps, values, title, axis, False)
        parts.append(figure(chart, f"{prefix}-{key}", height))
    # imported here: importing spmopt.quota loads its LP solvers (about 0.7 s)
    from spmopt.quota.job import MONEY

    parts += [heading("Quotas"), table(ordered, money=MONEY)]
    return parts + _quota_periods(read_csv(folder / "quotas_by_period.csv"))


def _quota_periods(phased: pd.DataFrame | None) -> list[str]:
    """``quotas_by_period.csv`` as one row per rep and one column per period.

    Reps and periods keep the file's order; ``total`` is the rep's quota
    and the last row sums every rep. A note gives the phasing weights when every rep
    shares them.
    """
    if phased is None:
        return []
    phased = phased.astype({"rep_id": str, "period": str})
    periods = list(dict.fromkeys(phased["period"]))
    reps = list(dict.fromkeys(phased["rep_id"]))
    wide = phased.pivot(index="rep_id", columns="period", values="quota")
    wide = wide.loc[reps, periods]
    wide["total"] = wide.sum(axis=1)
    wide.loc["all reps"] = wide.sum(axis=0)
    frame = wide.rename_axis(columns=None).reset_index()
    parts = [heading("Quotas by period"), table(frame, 60, money=[*periods, "total"])]
    return parts + _phasing_note(phased, periods)


def _phasing_note(phased: pd.DataFrame, periods: list[str]) -> list[str]:
    """The phasing weights in words, when they are the same for every rep."""
    if "weight" not in phased:
        return []
    weights = phased.groupby(phased["period"].astype(str))["weight"]
    if (weights.nunique() > 1).any():
        return []
    first = weights.first()
    shares = ", ".join(f"{p} {first[p]:.1%}" for p in periods)
    return [paragraph(f"Phasing weights (every rep): {shares}.", "note")]


def _quota_fairness(quotas: pd.DataFrame) -> str:
    figures: dict[str, Any] = {"quota_gini": gini(quotas["quota"])}
    if "potential" in quotas:
        ratio = quotas["quota"] / quotas["potential"].where(quotas["potential"] > 0)
        figures["quota_to_potential_min"] = float(ratio.min())
        figures["quota_to_potential_max"] = float(ratio.max())
    return key_values(figures)


def payout(folder: Path, prefix: str, options: Options) -> list[str]:
    """Cost distribution with P10/P50/P90, payout curve, per-rep payouts."""
    summary = read_json(folder / "summary.json")
    cost = summary.get("cost") or {}
    parts = [key_values(summary), key_values(cost)]
    dist = read_csv(folder / "cost_distribution.csv")
    if dist is not None:
        chart = figs.histogram_bins(
            dist["cost_low"], dist["cost_high"], dist["count"], "Plan cost", "cost"
        )
        marks = {k.upper(): cost[k] for k in ("p10", "p50", "p90") if k in cost}
        chart = figs.add_markers(chart, marks)
        green = "#2ca02c"
        mean = {"mean": cost.get("mean")}
        chart = figs.add_markers(chart, mean, colour=green, position="bottom right")
        at_mean = {"at mean attainment": summary.get("cost_at_mean_attainment")}
        chart = figs.add_markers(chart, at_mean, colour=green, position="bottom left")
        parts.append(figure(chart, f"{prefix}-cost"))
    # pricing on Dask (scale price) writes no curve: no note that it lacks one
    note = options.job != "scale-price"
    parts += _payout_curve(folder / "payout_curve.csv", prefix, note)
    reps = read_csv(folder / "rep_payouts.csv")
    if reps is not None:
        parts += [heading("Payout per rep"), table(reps, money=REP_MONEY)]
    return [*parts, *_page_links(folder, ("plots.html",), options)]


def payouts(folder: Path, prefix: str, options: Options) -> list[str]:
    """Exact payouts of a ``payout calc`` run: totals per rep, statements."""
    summary = read_json(folder / "summary.json")
    lines = read_csv(folder / "payouts.csv")
    parts = [key_values(summary)]
    if lines is None:
        return [*parts, missing("payouts.csv is empty.")]
    amounts = [c for c in ("earned", "spif", "clawback", "draw", "paid") if c in lines]
    totals = lines.groupby("rep_id", sort=True)[amounts].sum().reset_index()
    chart = figs.bar_chart(
        totals["rep_id"], totals["paid"], "Paid per rep", "paid", False
    )
    parts += [figure(chart, f"{prefix}-paid"), heading("Totals per rep")]
    parts += [table(totals, money=amounts), heading("Per rep and period")]
    parts.append(table(lines, money=PAYOUT_MONEY))
    return [*parts, *_statement_links(folder, totals["rep_id"], options)]


def _statement_links(folder: Path, reps: pd.Series, options: Options) -> list[str]:
    """Links to each rep's line-by-line statement, when written."""
    found = [folder / "statements" / f"{rep}.txt" for rep in reps]
    hrefs = [p.relative_to(options.run_dir).as_posix() for p in found if p.is_file()]
    if not hrefs:
        return []
    links = ", ".join(link(href.rsplit("/", 1)[-1], href) for href in hrefs)
    return [f"<p class='note'>Statements, line by line: {links}</p>"]


def _payout_curve(path: Path, prefix: str, note: bool = True) -> list[str]:
    curve = read_csv(path)
    if curve is None or len(curve.columns) < 2:
        return [paragraph("No payout curve in this run.", "note")] if note else []
    y = curve.columns[1]
    chart = figs.line_chart(curve, "attainment", y, "Payout curve")
    return [figure(chart, f"{prefix}-curve")]


def comparison(folder: Path, prefix: str, options: Options) -> list[str]:
    """Plan designs priced on the same simulated years, side by side."""
    table_ = read_csv(folder / "comparison.csv")
    if table_ is None:
        return [missing("comparison.csv is empty.")]
    money = [c for c in table_.columns if c.startswith("cost_") and "pct" not in c]
    parts = [table(table_, money=[*money, "mc_standard_error"])]
    if {"cost_p10", "cost_p50", "cost_p90"} <= set(table_.columns):
        chart = figs.percentile_chart(table_)
        parts.append(figure(chart, f"{prefix}-percentiles", 360))
    curves = {
        str(plan): read_csv(folder / str(plan) / "payout_curve.csv")
        for plan in table_["plan"]
    }
    found = {
        plan: c for plan, c in curves.items() if c is not None and len(c.columns) > 1
    }
    if found:
        chart = figs.curves_chart(found)
        parts.append(figure(chart, f"{prefix}-curves", 360))
    return parts


def analytics(folder: Path, prefix: str, options: Options) -> list[str]:
    """KPIs per period and team, rep scorecards with flags."""
    summary = read_json(folder / "summary.json")
    parts = [key_values(summary)]
    kpis = read_csv(folder / "kpis.csv")
    if kpis is not None:
        parts += _kpi_parts(kpis, prefix)
    parts += _stage_parts(read_csv(folder / "stages.csv"), prefix)
    parts += _accuracy_parts(read_csv(folder / "forecast_accuracy.csv"), prefix)
    cards = read_csv(folder / "scorecards.csv")
    if cards is not None:
        columns = _card_columns(cards)
        parts += [heading("Rep scorecards"), *_heatmap(cards, prefix)]
        parts.append(table(cards[columns], max_rows=100))
    return parts


def _heatmap(cards: pd.DataFrame, prefix: str) -> list[str]:
    pct = [c for c in cards.columns if c.endswith("_pct") and cards[c].notna().any()]
    if not pct:
        return []
    height = min(1600, 160 + 16 * len(cards))
    return [figure(figs.percentile_heatmap(cards, pct), f"{prefix}-scorecards", height)]


def _stage_parts(stages: pd.DataFrame | None, prefix: str) -> list[str]:
    if stages is None:
        return [paragraph("No stage conversion in this run.", "note")]
    company = stages[stages["level"] == "company"]
    chart = figs.bar_chart(
        company["stage"], company["conversion"], "Stage conversion", "share", False
    )
    return [heading("Stage conversion"), figure(chart, f"{prefix}-stages", 360),
            table(stages)]  # fmt: skip


def _accuracy_parts(accuracy: pd.DataFrame | None, prefix: str) -> list[str]:
    if accuracy is None:
        return [paragraph("No forecast accuracy in this run.", "note")]
    periods = accuracy[accuracy["period"] != "all"]
    chart = figs.forecast_chart(periods)
    return [heading("Forecast accuracy"), figure(chart, f"{prefix}-accuracy", 360),
            table(accuracy)]  # fmt: skip


def _kpi_parts(kpis: pd.DataFrame, prefix: str) -> list[str]:
    periods = kpis[(kpis["level"] == "company") & (kpis["period"] != "all")]
    teams = kpis[(kpis["level"] == "team") & (kpis["period"] == "all")]
    shown = ["team", *_KPI_COLUMNS]
    parts = []
    if not periods.empty:
        parts.append(figure(figs.period_chart(periods), f"{prefix}-periods"))
    parts += [heading("Teams over all periods"), table(teams[_present(teams, shown)])]
    return parts


_KPI_COLUMNS = ("n_deals", "n_open", *SCORED, "cost_pct_revenue")
"""KPI columns shown in tables: the scored ones plus counts and cost share."""


def _card_columns(cards: pd.DataFrame) -> list[str]:
    shown = ["team", "rep_id", "flags", *_KPI_COLUMNS, "win_rate_pct", "won_value_pct"]
    return _present(cards, shown)


def _present(frame: pd.DataFrame, columns: Any) -> list[str]:
    return [c for c in columns if c in frame.columns]
