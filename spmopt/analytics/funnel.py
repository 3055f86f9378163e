"""Stage conversion: how deals move through ordered pipeline stages.

Only the current stage of each deal is known, so a deal is taken to have
passed every stage before its current one, and a closed (won or lost)
deal to have passed every open stage.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def stage_positions(
    stage: pd.Series, outcome: pd.Series, order: tuple[str, ...]
) -> pd.Series:
    """Index of the furthest stage each deal reached.

    Open deals sit at the index of their stage in ``order`` (stages not in
    ``order`` count as the first); won and lost deals sit at
    ``len(order)``, past every open stage.
    """
    index = {name: i for i, name in enumerate(order)}
    position = stage.map(index).fillna(0).astype(int)
    return position.where(outcome == "open", len(order))


def stage_funnel(
    deals: pd.DataFrame, stage: pd.Series, order: tuple[str, ...]
) -> pd.DataFrame:
    """Deals reaching and passing each stage, per team and for the company.

    Parameters
    ----------
    deals : DataFrame
        Prepared deals (``team``, ``outcome``).
    stage : Series
        Current stage name of each deal, aligned with ``deals``.
    order : tuple of str
        Open stages in pipeline order, e.g. ``("Prospecting", "Engaging")``.

    Returns
    -------
    DataFrame
        ``level``, ``team``, ``stage``, ``step`` (1-based), ``reached``,
        ``passed``, ``conversion`` (passed / reached), ``won`` and
        ``win_rate_from_stage`` (won / closed deals that reached the stage).
    """
    frame = deals.assign(position=stage_positions(stage, deals["outcome"], order))
    parts = [
        _funnel(frame, order).assign(level="company", team=None),
        *(
            _funnel(group, order).assign(level="team", team=team)
            for team, group in frame.groupby("team", sort=True)
        ),
    ]
    table = pd.concat(parts, ignore_index=True)
    columns = ["level", "team", "stage", "step", "reached", "passed", "conversion"]
    return table[[*columns, "won", "win_rate_from_stage"]]


def _funnel(frame: pd.DataFrame, order: tuple[str, ...]) -> pd.DataFrame:
    position = frame["position"].to_numpy()
    won = (frame["outcome"] == "won").to_numpy()
    closed = (frame["outcome"] != "open").to_numpy()
    rows = []
    for step, name in enumerate(order):
        reached = position >= step
        rows.append(
            {
                "stage": name,
                "step": step + 1,
                "reached": int(reached.sum()),
                "passed": int((position > step).sum()),
                "won": int((reached & won).sum()),
                "closed": int((reached & closed).sum()),
            }
        )
    table = pd.DataFrame(rows)
    table["conversion"] = _share(table["passed"], table["reached"])
    table["win_rate_from_stage"] = _share(table["won"], table["closed"])
    return table.drop(columns="closed")


def _share(num: pd.Series, den: pd.Series) -> pd.Series:
    return (num / den.where(den > 0)).astype(float).replace([np.inf], np.nan)
