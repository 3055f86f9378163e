"""Small builders shared by the payout tests."""

from __future__ import annotations

from typing import Any

import numpy as np

from spmopt.payout.engine import RepBook
from spmopt.payout.plan import Curve, PlanConfig, parse_plan


def tiers(*rows: tuple[float, float | None, float], **kw: Any) -> Curve:
    """Curve from (from, to, rate) rows."""
    items = [
        {"from": lo, "rate": rate, **({} if hi is None else {"to": hi})}
        for lo, hi, rate in rows
    ]
    return Curve.model_validate({"tiers": items, **kw})


def one_measure_plan(curve: dict[str, Any], **kw: Any) -> PlanConfig:
    """A plan with one measure 'revenue' on ``curve``."""
    measure = {"name": "revenue", "curve": curve, **kw.pop("measure", {})}
    return parse_plan({"measures": [measure], **kw})


def book(quotas: list[float], incentive: float = 0.0, **kw: Any) -> RepBook:
    """A RepBook with one measure column."""
    n = len(quotas)
    return RepBook(
        tuple(f"R{i}" for i in range(n)),
        np.asarray(quotas, dtype=float)[:, None],
        np.full(n, incentive),
        kw.get("managers", (None,) * n),
    )
