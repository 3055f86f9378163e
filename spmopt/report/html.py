"""HTML building blocks of the report: page, sections, tables, figures."""

from __future__ import annotations

import html
import math
import numbers
from collections.abc import Collection, Iterable
from functools import lru_cache
from typing import Any

import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio
from plotly.offline import get_plotlyjs

FIGURE_WIDTH = 720
"""Width of every figure in CSS pixels; fits a printed A4 or Letter page."""

_CSS = """
body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif;
  max-width: 980px; margin: 0 auto; padding: 1em 1.5em; color: #222; }
h1 { border-bottom: 2px solid #333; }
h2 { border-bottom: 1px solid #999; margin-top: 2em; }
nav ul { columns: 2; }
table { border-collapse: collapse; margin: 0.5em 0 1em; font-size: 0.85em; }
th, td { border: 1px solid #ccc; padding: 2px 6px; text-align: right; }
th { background: #f0f0f0; }
td.text, th.text { text-align: left; white-space: nowrap; }
.table-wrap { overflow-x: auto; }
table.kv td { text-align: left; white-space: normal; max-width: 42em; }
.missing { background: #fff4e0; border-left: 4px solid #e69500; padding: 0.5em 1em; }
.note { color: #555; font-size: 0.9em; }
.figure { margin: 0.5em 0 1.5em; }
@media print {
  body { max-width: none; padding: 0; }
  nav { display: none; }
  .figure { page-break-inside: avoid; break-inside: avoid; }
  .table-wrap { overflow: visible; }
  table { font-size: 7pt; }
  tr { page-break-inside: avoid; break-inside: avoid; }
  h2 { page-break-before: auto; page-break-after: avoid; }
}
"""


def page(title: str, subtitle: str, nav: str, body: str) -> str:
    """A complete HTML page with plotly.js embedded once in the head."""
    return (
        "<!DOCTYPE html>\n<html lang='en'>\n<head>\n<meta charset='utf-8'>\n"
        f"<title>{html.escape(title)}</title>\n<style>{_CSS}</style>\n"
        f"<script>{_plotly_js()}</script>\n</head>\n<body>\n"
        f"<h1>{html.escape(title)}</h1>\n<p class='note'>{html.escape(subtitle)}</p>\n"
        f"{nav}\n{body}\n</body>\n</html>\n"
    )


@lru_cache(maxsize=1)
def _plotly_js() -> str:
    """The plotly.js bundle shipped with the plotly package (read once)."""
    return get_plotlyjs()


def navigation(entries: Iterable[tuple[str, str]]) -> str:
    """A table of contents linking to each section id."""
    items = "".join(
        f"<li><a href='#{key}'>{html.escape(title)}</a></li>" for key, title in entries
    )
    return f"<nav><ul>{items}</ul></nav>"


def section(key: str, title: str, parts: Iterable[str]) -> str:
    """A report section with a fixed id."""
    inner = "\n".join(parts)
    return (
        f"<section id='{key}' class='report-section'>\n"
        f"<h2>{html.escape(title)}</h2>\n{inner}\n</section>"
    )


def missing(text: str) -> str:
    """A visible note saying what is not in the run."""
    return f"<p class='missing'>{html.escape(text)}</p>"


def heading(text: str) -> str:
    """A sub-heading inside a section."""
    return f"<h3>{html.escape(text)}</h3>"


def paragraph(text: str, css: str = "") -> str:
    """A paragraph of escaped text."""
    cls = f" class='{css}'" if css else ""
    return f"<p{cls}>{html.escape(text)}</p>"


def link(text: str, href: str) -> str:
    """An escaped hyperlink."""
    return f"<a href='{html.escape(href, quote=True)}'>{html.escape(text)}</a>"


def figure(fig: go.Figure, div_id: str, height: int = 420) -> str:
    """A plotly figure as a div with a fixed id, no JS of its own."""
    margin = {**_MARGIN, **fig.layout.margin.to_plotly_json()}
    fig.update_layout(
        width=FIGURE_WIDTH, height=height, template=_template(), margin=margin
    )
    body = pio.to_html(
        fig,
        full_html=False,
        include_plotlyjs=False,
        div_id=div_id,
        config={"displaylogo": False, "responsive": False},
        default_width=f"{FIGURE_WIDTH}px",
        default_height=f"{height}px",
    )
    return f"<div class='figure' data-figure='{div_id}'>{body}</div>"


_MARGIN = {"l": 60, "r": 20, "t": 50, "b": 50}


@lru_cache(maxsize=1)
def _template() -> go.layout.Template:
    """A small white template: light grid, no per-trace defaults to embed."""
    axis = {"gridcolor": "#e5e8ee", "linecolor": "#b0b6c0", "zerolinecolor": "#c8ccd4"}
    layout = {
        "paper_bgcolor": "white",
        "plot_bgcolor": "white",
        "font": {"family": "Helvetica, Arial, sans-serif", "size": 12},
        "xaxis": {**axis, "automargin": True},
        "yaxis": {**axis, "automargin": True},
        "hovermode": "closest",
        "title": {"x": 0.02, "xanchor": "left"},
    }
    return go.layout.Template(layout=layout)


def table(
    frame: pd.DataFrame,
    max_rows: int = 40,
    css: str = "",
    money: Collection[str] = (),
) -> str:
    """An HTML table of ``frame`` (first ``max_rows`` rows), values escaped.

    Columns named in ``money`` show amounts to the cent (``1,696,603.86``),
    as the run's CSV files and statements do.
    """
    shown = frame.head(max_rows)
    head = "".join(_cell("th", col, is_text=True) for col in shown.columns)
    is_money = [column in money for column in shown.columns]
    rows = []
    for values in shown.itertuples(index=False):
        cells = "".join(
            _money_cell(v) if cents else _cell("td", v, is_text=isinstance(v, str))
            for v, cents in zip(values, is_money, strict=True)
        )
        rows.append(f"<tr>{cells}</tr>")
    note = ""
    if len(frame) > max_rows:
        note = paragraph(f"First {max_rows} of {len(frame)} rows.", "note")
    cls = f" class='{css}'" if css else ""
    body = f"<table{cls}><tr>{head}</tr>{''.join(rows)}</table>"
    return f"<div class='table-wrap'>{body}</div>{note}"


def _cell(tag: str, value: Any, is_text: bool) -> str:
    css = " class='text'" if is_text else ""
    return f"<{tag}{css}>{html.escape(format_value(value))}</{tag}>"


def _money_cell(value: Any) -> str:
    real = isinstance(value, numbers.Real) and not isinstance(value, bool)
    if real and math.isfinite(value):
        return f"<td>{float(value) + 0.0:,.2f}</td>"
    return _cell("td", value, is_text=isinstance(value, str))


def format_value(value: Any) -> str:
    """Short, stable text for a table cell."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return f"{value:,.0f}"
        return f"{value:,.4g}" if abs(value) < 1e4 else f"{value:,.0f}"
    return str(value)
