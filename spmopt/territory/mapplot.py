"""Self-contained HTML map of an alignment, before and after."""

from __future__ import annotations

from typing import Any

import numpy as np
import plotly.graph_objects as go
from numpy.typing import NDArray
from plotly.colors import qualitative

from spmopt.territory.problem import NO_REP, TerritoryProblem

DIV_ID = "spmopt-territory-map"


def alignment_map(problem: TerritoryProblem, assignment: NDArray[np.int64]) -> str:
    """HTML of a map with units coloured by rep, with a before/after switch.

    Lat/lon units are drawn on a geographic map (US Albers or world); x/y
    units on plain equal-scale axes in coordinate units.

    Returns
    -------
    str
        A full HTML page with plotly.js embedded (works offline) and a
        fixed element id, so the same inputs give the same bytes.
    """
    fig = alignment_figure(problem, assignment)
    return fig.to_html(include_plotlyjs=True, full_html=True, div_id=DIV_ID)


def alignment_figure(
    problem: TerritoryProblem, assignment: NDArray[np.int64]
) -> go.Figure:
    """The plotly figure behind :func:`alignment_map`."""
    fig = go.Figure()
    views = [("after", assignment)]
    if problem.has_current:
        views.append(("before", problem.current))
    for label, owner in views:
        _add_units(fig, problem, owner, label, visible=label == "after")
    _add_bases(fig, problem)
    _layout(fig, problem, [label for label, _ in views])
    return fig


def _scope(problem: TerritoryProblem) -> str:
    """``usa`` (Albers projection) when every point lies in the US box.

    Only for lat/lon data; x/y data get a plain scatter (:func:`_plane`).
    """
    lat, lon = problem.unit_lat, problem.unit_lon
    inside = (lat > 17) & (lat < 72) & (lon > -180) & (lon < -64)
    return "usa" if bool(inside.all()) else "world"


def _colour(k: int) -> str:
    palette = qualitative.Dark24 + qualitative.Light24
    return palette[k % len(palette)]


def _add_units(
    fig: go.Figure,
    problem: TerritoryProblem,
    owner: NDArray[np.int64],
    label: str,
    visible: bool,
) -> None:
    size = 4 + 10 * np.sqrt(problem.potential / max(problem.potential.max(), 1e-12))
    for k, rep in enumerate(problem.rep_ids):
        rows = np.flatnonzero(owner == k)
        fig.add_trace(_points(problem, rows, size, _colour(k), f"{rep} ({label})"))
        fig.data[-1].visible = visible
    orphan = np.flatnonzero(owner == NO_REP)
    if orphan.size:
        fig.add_trace(_points(problem, orphan, size, "#999999", f"none ({label})"))
        fig.data[-1].visible = visible


def _trace(problem: TerritoryProblem, lat: object, lon: object, **kw: object) -> Any:
    """A geographic trace for lat/lon data, a plain scatter for x/y data."""
    if problem.coords == "xy":
        return go.Scatter(x=lat, y=lon, **kw)
    return go.Scattergeo(lat=lat, lon=lon, **kw)


def _points(
    problem: TerritoryProblem,
    rows: NDArray[np.int64],
    size: NDArray[np.float64],
    colour: str,
    name: str,
) -> Any:
    text = [
        f"{problem.unit_ids[i]}: potential {problem.potential[i]:,.0f}" for i in rows
    ]
    return _trace(
        problem,
        problem.unit_lat[rows],
        problem.unit_lon[rows],
        mode="markers",
        marker={"size": size[rows], "color": colour, "opacity": 0.75},
        name=name,
        text=text,
        hoverinfo="text+name",
    )


def _add_bases(fig: go.Figure, problem: TerritoryProblem) -> None:
    fig.add_trace(
        _trace(
            problem,
            problem.rep_lat,
            problem.rep_lon,
            mode="markers+text",
            marker={"size": 14, "color": "black", "symbol": "star"},
            text=list(problem.rep_ids),
            textposition="top center",
            name="rep bases",
        )
    )


def _layout(fig: go.Figure, problem: TerritoryProblem, views: list[str]) -> None:
    n_traces = len(fig.data)
    per_view = (n_traces - 1) // len(views)
    buttons = []
    for v, label in enumerate(views):
        visible = [False] * n_traces
        visible[v * per_view : (v + 1) * per_view] = [True] * per_view
        visible[-1] = True
        buttons.append(
            {"label": label, "method": "update", "args": [{"visible": visible}]}
        )
    fig.update_layout(
        title={"text": "Territory alignment (switch before / after)", "x": 0.5},
        updatemenus=[{"buttons": buttons, "direction": "right", "x": 0, "y": 1.08}],
        height=700,
        margin={"l": 0, "r": 0, "t": 60, "b": 0},
    )
    if problem.coords == "xy":
        _plane(fig)
    else:
        fig.update_layout(geo={"scope": _scope(problem), "fitbounds": "locations"})


def _plane(fig: go.Figure) -> None:
    """Axes of an x/y plot: labelled, one coordinate unit as long on both."""
    fig.update_layout(
        xaxis={"title": {"text": "x (coordinate units)"}, "zeroline": False},
        yaxis={
            "title": {"text": "y (coordinate units)"},
            "zeroline": False,
            "scaleanchor": "x",
            "scaleratio": 1,
        },
        margin={"l": 60, "r": 10, "t": 60, "b": 50},
        plot_bgcolor="white",
    )
