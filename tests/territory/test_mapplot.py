"""The alignment map: a world/US map for lat/lon, plain axes for x/y."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from spmopt.territory.mapplot import alignment_figure, alignment_map
from tests.territory.conftest import MakeProblem


def test_planar_map_is_an_equal_scale_scatter(make_problem: MakeProblem) -> None:
    p = make_problem(2, with_current=True)
    fig = alignment_figure(p, np.argmin(p.distance, axis=1))
    assert {trace.type for trace in fig.data} == {"scatter"}
    assert fig.layout.yaxis.scaleanchor == "x"
    assert "coordinate units" in fig.layout.xaxis.title.text
    assert fig.layout.geo.scope is None  # no map projection for x/y
    bases = fig.data[-1]
    assert list(bases.x) == list(p.rep_lat) and list(bases.y) == list(p.rep_lon)


def test_latlon_map_is_geographic(make_problem: MakeProblem) -> None:
    p = make_problem(2, with_current=True)
    p = replace(
        p, coords="latlon", unit_lat=p.unit_lat / 4 + 30, unit_lon=-p.unit_lon / 4 - 80
    )
    p = replace(p, rep_lat=p.rep_lat / 4 + 30, rep_lon=-p.rep_lon / 4 - 80)
    fig = alignment_figure(p, p.current)
    assert {trace.type for trace in fig.data} == {"scattergeo"}
    assert fig.layout.geo.scope == "usa"


def test_planar_map_html_is_deterministic(make_problem: MakeProblem) -> None:
    p = make_problem(3)
    a = np.argmin(p.distance, axis=1)
    assert alignment_map(p, a) == alignment_map(p, a)
