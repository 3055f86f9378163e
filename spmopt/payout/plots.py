"""Plots of a simulation: the cost distribution and the payout curve."""

from __future__ import annotations

from typing import Any

import pandas as pd

from spmopt.payout.plan import PlanConfig


def plots_html(
    distribution: pd.DataFrame,
    curve: pd.DataFrame,
    summary: dict[str, Any],
    plan: PlanConfig,
) -> str:
    """One self-contained HTML page with both figures (fixed div ids)."""
    first = cost_figure(distribution, summary, plan).to_html(
        full_html=False, include_plotlyjs=True, div_id="payout-cost-distribution"
    )
    second = curve_figure(curve, plan).to_html(
        full_html=False, include_plotlyjs=False, div_id="payout-curve"
    )
    title = f"Payout simulation: {plan.name}"
    return (
        f"<!DOCTYPE html>\n<html><head><meta charset='utf-8'><title>{title}"
        f"</title></head><body>\n<h1>{title}</h1>\n{first}\n{second}\n"
        "</body></html>\n"
    )


def cost_figure(
    distribution: pd.DataFrame, summary: dict[str, Any], plan: PlanConfig
) -> Any:
    """Bar chart of the yearly cost histogram with mean and P90 marked."""
    import plotly.graph_objects as go

    mids = (distribution["cost_low"] + distribution["cost_high"]) / 2
    width = distribution["cost_high"] - distribution["cost_low"]
    fig = go.Figure(go.Bar(x=mids, y=distribution["count"], width=width))
    cost = summary["cost"]
    for name, value in (("mean", cost["mean"]), ("P90", cost["p90"])):
        fig.add_vline(x=value, line_dash="dash", annotation_text=name)
    at_mean = summary["cost_at_mean_attainment"]
    fig.add_vline(x=at_mean, line_dash="dot", annotation_text="at mean attainment")
    fig.update_layout(
        title="Yearly plan cost across scenarios",
        xaxis_title=f"total payout ({plan.currency})",
        yaxis_title="scenarios",
        template="plotly_white",
    )
    return fig


def curve_figure(curve: pd.DataFrame, plan: PlanConfig) -> Any:
    """Line chart of the payout curve of a median rep."""
    import plotly.graph_objects as go

    column = (
        "payout_pct_of_target_incentive"
        if "payout_pct_of_target_incentive" in curve.columns
        else "payout"
    )
    fig = go.Figure(go.Scatter(x=curve["attainment"], y=curve[column], mode="lines"))
    fig.update_layout(
        title="Payout curve (median rep, same attainment every period)",
        xaxis_title="attainment (1.0 = quota)",
        yaxis_title=column.replace("_", " "),
        template="plotly_white",
    )
    return fig
