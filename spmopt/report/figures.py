"""Plotly figures of the report, one function per chart.

Each function takes the tables a job wrote and returns a figure; none
reads files or writes HTML. Colours and trace order follow sorted ids so
the same tables give the same figure.
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

_PALETTE = (
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
    "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
    "#393b79", "#637939", "#8c6d31", "#843c39", "#7b4173",
    "#3182bd", "#e6550d", "#31a354", "#756bb1", "#636363",
)  # fmt: skip


def colour_of(ids: pd.Series) -> dict[str, str]:
    """A fixed colour per id, assigned in sorted order."""
    names = sorted(ids.dropna().astype(str).unique())
    return {name: _PALETTE[i % len(_PALETTE)] for i, name in enumerate(names)}


def map_axes(assignments: pd.DataFrame) -> tuple[str, str] | None:
    """Columns drawn across and up: ``lon, lat`` or ``x, y``; None if neither."""
    for across, up in (("lon", "lat"), ("x", "y")):
        if {across, up} <= set(assignments.columns):
            return across, up
    return None


_AXIS_TITLES = {"lon": "longitude", "lat": "latitude", "x": "x", "y": "y"}


def territory_map(assignments: pd.DataFrame) -> go.Figure:
    """Units at their coordinates, coloured by rep, before and after.

    Longitude/latitude (degrees) or planar x/y (coordinate units, drawn
    with one unit as long on both axes), whichever ``assignments`` holds.
    Drawn as a plain scatter (no map tiles) so the report works offline.
    """
    axes = map_axes(assignments)
    if axes is None:
        raise KeyError("'lat' and 'lon' (or 'x' and 'y')")
    before = assignments.get("previous_rep_id")
    has_before = before is not None and before.notna().any()
    columns = ["previous_rep_id", "rep_id"] if has_before else ["rep_id"]
    titles = ["Before", "After"] if has_before else ["Alignment"]
    fig = make_subplots(rows=1, cols=len(columns), subplot_titles=titles)
    colours = colour_of(pd.concat([assignments[c] for c in columns]))
    for col, column in enumerate(columns, start=1):
        for rep, group in assignments.groupby(assignments[column].astype(str)):
            points = _rep_points(group, rep, colours, col == 1, axes)
            fig.add_trace(points, row=1, col=col)
        fig.update_xaxes(title_text=_AXIS_TITLES[axes[0]], row=1, col=col)
        fig.update_yaxes(title_text=_AXIS_TITLES[axes[1]], row=1, col=col)
        if axes == ("x", "y"):
            anchor = "x" if col == 1 else f"x{col}"
            fig.update_yaxes(scaleanchor=anchor, scaleratio=1, row=1, col=col)
    fig.update_layout(title="Territories", legend_title_text="rep")
    return fig


def _rep_points(
    group: pd.DataFrame,
    rep: str,
    colours: dict[str, str],
    legend: bool,
    axes: tuple[str, str] = ("lon", "lat"),
) -> go.Scatter:
    return go.Scatter(
        x=group[axes[0]],
        y=group[axes[1]],
        mode="markers",
        marker={"size": 5, "color": colours.get(rep, "#999999")},
        name=rep,
        legendgroup=rep,
        showlegend=legend,
        text=group["unit_id"].astype(str),
        hovertemplate="%{text}<extra>" + rep + "</extra>",
    )


def balance_chart(territories: pd.DataFrame, tolerance: float | None) -> go.Figure:
    """Potential per rep (bars) against the target and its ± band."""
    frame = territories.sort_values("rep_id")
    reps = frame["rep_id"].astype(str)
    fig = go.Figure(go.Bar(x=reps, y=frame["potential"], name="potential"))
    if "target_potential" in frame:
        band = None
        if tolerance is not None:
            band = {"type": "data", "array": frame["target_potential"] * tolerance}
        fig.add_trace(
            go.Scatter(
                x=reps,
                y=frame["target_potential"],
                mode="markers",
                marker={"symbol": "line-ew-open", "size": 18, "color": "#d62728"},
                error_y=band,
                name="target" if band is None else "target ± tolerance",
            )
        )
    against = "the target" if tolerance is None else "the band"
    fig.update_layout(
        title=f"Potential per rep against {against}", yaxis_title="potential"
    )
    return fig


def workload_chart(territories: pd.DataFrame) -> go.Figure:
    """Workload per rep (bars) against each rep's capacity."""
    frame = territories.sort_values("rep_id")
    reps = frame["rep_id"].astype(str)
    fig = go.Figure(go.Bar(x=reps, y=frame["workload"], name="workload"))
    if "capacity" in frame:
        fig.add_trace(
            go.Scatter(
                x=reps,
                y=frame["capacity"],
                mode="markers",
                marker={"symbol": "line-ew-open", "size": 18, "color": "#000000"},
                name="capacity",
            )
        )
    fig.update_layout(title="Workload per rep against capacity", yaxis_title="workload")
    return fig


def line_chart(
    frame: pd.DataFrame, x: str, y: str, title: str, group: str | None = None
) -> go.Figure:
    """Lines with markers of ``y`` against ``x``, one per ``group`` value."""
    fig = go.Figure()
    groups = frame.groupby(group, sort=True) if group else [(y, frame)]
    for name, part in groups:
        fig.add_trace(
            go.Scatter(x=part[x], y=part[y], mode="lines+markers", name=str(name))
        )
    fig.update_layout(title=title, xaxis_title=x, yaxis_title=y)
    return fig


def reliability_chart(reliability: pd.DataFrame) -> go.Figure:
    """Observed win rate against mean predicted probability, per model."""
    fig = line_chart(
        reliability, "mean_predicted", "observed_rate", "Reliability", group="model"
    )
    fig.add_trace(
        go.Scatter(
            x=[0, 1],
            y=[0, 1],
            mode="lines",
            line={"dash": "dash", "color": "#888888"},
            name="perfect calibration",
        )
    )
    fig.update_xaxes(range=[0, 1])
    fig.update_yaxes(range=[0, 1])
    return fig


def bar_chart(
    labels: pd.Series, values: pd.Series, title: str, axis: str, horizontal: bool
) -> go.Figure:
    """A single-series bar chart."""
    if horizontal:
        bar = go.Bar(x=values, y=labels.astype(str), orientation="h")
    else:
        bar = go.Bar(x=labels.astype(str), y=values)
    fig = go.Figure(bar)
    fig.update_layout(title=title)
    if horizontal:
        fig.update_layout(xaxis_title=axis, yaxis={"autorange": "reversed"})
    else:
        fig.update_layout(yaxis_title=axis)
    return fig


def histogram_bins(
    low: pd.Series, high: pd.Series, count: pd.Series, title: str, axis: str
) -> go.Figure:
    """Pre-binned counts drawn as adjacent bars."""
    fig = go.Figure(
        go.Bar(
            x=(low + high) / 2,
            y=count,
            width=(high - low),
            marker={"line": {"width": 0}},
            name="scenarios",
        )
    )
    fig.update_layout(title=title, xaxis_title=axis, yaxis_title="scenarios")
    return fig


def add_markers(
    fig: go.Figure,
    marks: dict[str, float | None],
    colour: str = "#d62728",
    position: str = "top",
) -> go.Figure:
    """Vertical dashed lines with labels, e.g. P10/P50/P90; None is skipped."""
    for label, value in marks.items():
        if value is None:
            continue
        fig.add_vline(
            x=value,
            line_dash="dash",
            line_color=colour,
            annotation_text=label,
            annotation_position=position,
        )
    return fig


def period_chart(company: pd.DataFrame) -> go.Figure:
    """Won value per period (bars) and win rate (line, right axis)."""
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    fig.add_trace(
        go.Bar(x=company["period"], y=company["won_value"], name="won value"),
        secondary_y=False,
    )
    fig.add_trace(
        go.Scatter(
            x=company["period"],
            y=company["win_rate"],
            mode="lines+markers",
            name="win rate",
        ),
        secondary_y=True,
    )
    fig.update_layout(title="Won value and win rate per period")
    fig.update_yaxes(title_text="won value", secondary_y=False)
    fig.update_yaxes(title_text="win rate", range=[0, 1], secondary_y=True)
    return fig


def forecast_chart(accuracy: pd.DataFrame) -> go.Figure:
    """Forecast and actual won value per period."""
    fig = go.Figure()
    for column in ("forecast", "actual"):
        fig.add_trace(
            go.Scatter(
                x=accuracy["period"].astype(str),
                y=accuracy[column],
                mode="lines+markers",
                name=column,
            )
        )
    fig.update_layout(title="Forecast versus actual", yaxis_title="won value")
    return fig


def percentile_chart(table: pd.DataFrame) -> go.Figure:
    """Cost P50 per plan with a bar from P10 to P90, and the mean."""
    plans = table["plan"].astype(str)
    low = table["cost_p50"] - table["cost_p10"]
    high = table["cost_p90"] - table["cost_p50"]
    fig = go.Figure(
        go.Scatter(
            x=plans,
            y=table["cost_p50"],
            mode="markers",
            marker={"size": 12},
            error_y={"type": "data", "array": high, "arrayminus": low},
            name="P50 (bar: P10-P90)",
        )
    )
    if "cost_mean" in table:
        fig.add_trace(
            go.Scatter(x=plans, y=table["cost_mean"], mode="markers", name="mean")
        )
    fig.update_layout(title="Plan cost by design", yaxis_title="cost")
    return fig


def curves_chart(curves: dict[str, pd.DataFrame]) -> go.Figure:
    """Payout curves of several plans on one chart (second column as y)."""
    fig = go.Figure()
    for name in sorted(curves):
        curve = curves[name]
        fig.add_trace(
            go.Scatter(
                x=curve["attainment"],
                y=curve[curve.columns[1]],
                mode="lines",
                name=name,
            )
        )
    fig.update_layout(title="Payout curves", xaxis_title="attainment")
    return fig


def percentile_heatmap(cards: pd.DataFrame, columns: list[str]) -> go.Figure:
    """Each rep's percentile in the team per KPI (rows: team / rep)."""
    labels = (cards["team"].astype(str) + " / " + cards["rep_id"].astype(str)).tolist()
    names = [c.removesuffix("_pct") for c in columns]
    fig = go.Figure(
        go.Heatmap(
            z=cards[columns].to_numpy(dtype=float),
            x=names,
            y=labels,
            zmin=0,
            zmax=1,
            colorscale="RdBu",
            colorbar={"title": {"text": "percentile"}},
            hovertemplate="%{y}<br>%{x}: %{z:.2f}<extra></extra>",
        )
    )
    title = {"text": "Percentile in team (1 = highest)", "y": 0.995, "yanchor": "top"}
    fig.update_layout(title=title, margin={"t": 130})
    fig.update_yaxes(autorange="reversed", tickfont={"size": 9})
    fig.update_xaxes(side="top")
    return fig
