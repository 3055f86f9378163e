"""Clawbacks in the simulator against closed forms."""

from pathlib import Path

import numpy as np
import pytest

from spmopt.config import parse_config
from spmopt.errors import SpmoptWarning
from spmopt.payout.attainment import DealAttainment, LognormalAttainment
from spmopt.payout.cancellations import (
    Cancellations,
    expected_share,
    recovery_share,
)
from spmopt.payout.plan import Clawback
from spmopt.payout.simulate import SimulateConfig, load_inputs, simulate

from .helpers import book, one_measure_plan

FLAT = {"tiers": [{"from": 0, "rate": 1.0}]}


def rule(mode: str, window: int = 6, share: float = 1.0) -> Clawback:
    return Clawback(mode=mode, window_months=window, share=share)  # type: ignore[arg-type]


def test_recovery_shares_follow_the_plan_rule() -> None:
    months = np.array([0, 4, 6])
    assert recovery_share(rule("full"), months, 12).tolist() == [1, 1, 1]
    assert recovery_share(rule("fixed_share", share=0.5), months, 12).tolist() == [
        0.5,
        0.5,
        0.5,
    ]
    # 1,200 on a 12-month contract cancelled after 4 months: 800 back.
    assert 1_200 * recovery_share(rule("prorated"), months, 12)[1] == 800
    assert recovery_share(rule("prorated"), np.array([5]), 3).tolist() == [0]


def test_expected_share_is_the_mean_over_the_window_months() -> None:
    # k = 0..6 months of a 12-month contract: (12 + 11 + ... + 6) / 7 / 12.
    assert expected_share(rule("prorated"), 12) == pytest.approx(63 / 84)
    assert expected_share(rule("full"), 12) == 1.0
    assert expected_share(rule("fixed_share", share=0.3), 12) == pytest.approx(0.3)


def test_parametric_clawback_scales_every_commission_exactly() -> None:
    claw = {"mode": "prorated", "window_months": 6}
    plan = one_measure_plan(FLAT, target_incentive=10_000, clawback=claw)
    plain = one_measure_plan(FLAT, target_incentive=10_000)
    reps = book([100.0] * 30, 10_000)
    model = LognormalAttainment(sigma=0.3)
    cancelling = model.model_copy(update={"cancellations": Cancellations(rate=0.2)})
    with_claw = simulate(plan, reps, cancelling, 500, seed=3)
    without = simulate(plain, reps, model, 500, seed=3)
    factor = 1 - 0.2 * 63 / 84  # rate x expected prorated share
    assert np.allclose(with_claw.cost, factor * without.cost)
    assert with_claw.clawback is not None
    assert np.allclose(with_claw.clawback, with_claw.cost - without.cost)


def deals_config(tmp_path: Path, close_date: str, mode: str, rate: float) -> dict:
    (tmp_path / "q.csv").write_text("rep_id,quota\nA,1000\nB,1000\n")
    rows = "".join(
        f"{rep},{amount},1,{close_date}\n"
        for rep, amount in (("A", 400), ("A", 100), ("B", 300), ("B", 200))
    )
    (tmp_path / "p.csv").write_text("rep_id,amount,win_probability,close_date\n" + rows)
    commission = {"tiers": [{"from": 0, "rate": 0.1}], "basis": "amount"}
    return {
        "plan": {
            "year_start": "2027-01-01",
            "period": "quarter",
            "measures": [{"name": "revenue", "rate_of": "credit", "curve": commission}],
            "clawback": {"mode": mode, "window_months": 6},
        },
        "quotas": "q.csv",
        "attainment": {
            "kind": "deals",
            "pipeline": "p.csv",
            "cancellations": {"rate": rate, "contract_months": 12},
        },
        "n_scenarios": 4_000,
        "mlflow": {"enabled": False},
    }


def run_deals(tmp_path: Path, close_date: str, mode: str, rate: float):  # type: ignore[no-untyped-def]
    cfg = parse_config(
        SimulateConfig,
        deals_config(tmp_path, close_date, mode, rate),
        base_dir=tmp_path,
    )
    plan, reps = load_inputs(cfg)
    return simulate(plan, reps, cfg.attainment, cfg.n_scenarios, seed=2)


@pytest.mark.parametrize(("mode", "share"), [("full", 1.0), ("prorated", 63 / 84)])
def test_deal_by_deal_clawback_matches_rate_x_commission_x_share(
    tmp_path: Path, mode: str, share: float
) -> None:
    # Every deal is won (commission 10 % of 1,000), closing in January: any
    # cancellation within 6 months is posted inside the plan year.
    result = run_deals(tmp_path, "2027-01-15", mode, 0.25)
    assert result.clawback is not None
    expected = -0.25 * 100.0 * share
    se = result.clawback.std() / np.sqrt(len(result.clawback))
    assert result.clawback.mean() == pytest.approx(expected, abs=4 * se)
    assert np.allclose(result.cost, 100.0 + result.clawback)


def test_cancellations_after_the_plan_year_are_not_in_its_cost(
    tmp_path: Path,
) -> None:
    # Deals closing in December: only a cancellation in the same month
    # (k = 0 of 0..6, probability 1/7) is posted in this plan year.
    result = run_deals(tmp_path, "2027-12-01", "full", 0.7)
    assert result.clawback is not None
    expected = -0.7 * 100.0 / 7
    se = result.clawback.std() / np.sqrt(len(result.clawback))
    assert result.clawback.mean() == pytest.approx(expected, abs=4 * se)


def test_no_cancellations_warns_that_clawbacks_count_as_zero(tmp_path: Path) -> None:
    data = deals_config(tmp_path, "2027-01-15", "full", 0.1)
    del data["attainment"]["cancellations"]
    cfg = parse_config(SimulateConfig, data, base_dir=tmp_path)
    with pytest.warns(SpmoptWarning, match="clawbacks as zero"):
        load_inputs(cfg)
    assert isinstance(cfg.attainment, DealAttainment)


def test_pipeline_cancel_probability_is_checked(tmp_path: Path) -> None:
    from spmopt.errors import DataError

    data = deals_config(tmp_path, "2027-01-15", "full", 0.1)
    (tmp_path / "p.csv").write_text(
        "rep_id,amount,win_probability,cancel_probability\nA,1,1,1.5\n"
    )
    data["plan"]["period"] = "year"
    cfg = parse_config(SimulateConfig, data, base_dir=tmp_path)
    with pytest.raises(DataError, match=r"cancel_probability.*1\.5.*data row 1"):
        load_inputs(cfg)


def test_cost_at_mean_attainment_includes_expected_spifs_and_clawbacks() -> None:
    from spmopt.payout.engine import PayoutEngine
    from spmopt.payout.simulate import cost_at_attainment

    spif = {"name": "logo", "curve": {"basis": "deals", "tiers": [FLAT["tiers"][0]]}}
    claw = {"mode": "fixed_share", "share": 0.5, "window_months": 6}
    plan = one_measure_plan(
        FLAT, target_incentive=10_000, spifs=[spif], clawback=claw, period="quarter"
    )
    reps = book([100.0] * 4, 10_000)
    model = LognormalAttainment.model_validate(
        {
            "mean": 0.9,
            "spif_counts": {"logo": {"mean": 3.0}},
            "cancellations": {"rate": 0.2},
        }
    )
    engine = PayoutEngine(plan, reps)
    # 4 reps: commission 10,000 x 0.9, less 20 % x half of it; SPIF 1 per
    # deal, 3 x 0.9 deals in each of 4 quarters.
    expected = 4 * (9_000 * (1 - 0.2 * 0.5) + 4 * 3 * 0.9)
    assert cost_at_attainment(engine, 0.9, model) == pytest.approx(expected)
    assert cost_at_attainment(engine, 0.9) == pytest.approx(4 * 9_000)
