"""Monte-Carlo simulator: statistics, determinism, output files."""

import json
import warnings
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from spmopt.config import load_config, parse_config
from spmopt.errors import ConfigError, SpmoptWarning
from spmopt.payout.attainment import HistoryAttainment, LognormalAttainment
from spmopt.payout.simulate import (
    SUMMARY_MONEY,
    SUMMARY_SHARES,
    SimulateConfig,
    TrackingSettings,
    chunk_sizes,
    cost_summary,
    load_inputs,
    run_simulate,
    simulate,
)
from spmopt.runs import RunDir

from .helpers import book, one_measure_plan

REPO = Path(__file__).resolve().parents[2]
POINTS = {"points": [[0, 0], [0.5, 0.2], [1.0, 1.0], [1.5, 2.5], [2.0, 3.0]]}


def test_chunk_sizes_cover_all_scenarios_within_budget() -> None:
    sizes = chunk_sizes(10_001, 1_000, 2_000_000)
    assert sum(sizes) == 10_001 and max(sizes) * 1_000 <= 2_000_000
    assert chunk_sizes(5, 10**9, 1_000) == [1] * 5


def test_matches_straightforward_numpy_within_mc_error() -> None:
    plan = one_measure_plan(POINTS, target_incentive=10_000)
    reps = book([100.0] * 50, 10_000)
    model = LognormalAttainment(
        mean=1.0, sigma=0.3, market_correlation=0.0, period_correlation=0.0
    )
    result = simulate(plan, reps, model, 4_000, seed=1, chunk_elements=20_000)
    rng = np.random.default_rng(99)
    att = np.exp(model.mu + model.sigma * rng.standard_normal((4_000, 50)))
    xs, ys = zip(*POINTS["points"], strict=True)
    naive = (np.interp(att, xs, ys) * 10_000).sum(axis=1)
    se = np.hypot(result.cost.std(), naive.std()) / np.sqrt(4_000)
    assert result.cost.mean() == pytest.approx(naive.mean(), abs=4 * se)
    for q in (10, 50, 90):
        gap = abs(np.percentile(result.cost, q) - np.percentile(naive, q))
        assert gap < 6 * se


def test_same_seed_same_costs_and_convex_plan_costs_more_than_at_mean() -> None:
    plan = one_measure_plan(POINTS, target_incentive=10_000)
    reps = book([100.0] * 20, 10_000)
    model = LognormalAttainment(sigma=0.4)
    a = simulate(plan, reps, model, 2_000, seed=4, chunk_elements=5_000)
    b = simulate(plan, reps, model, 2_000, seed=4, chunk_elements=5_000)
    c = simulate(plan, reps, model, 2_000, seed=5, chunk_elements=5_000)
    assert np.array_equal(a.cost, b.cost) and not np.array_equal(a.cost, c.cost)
    assert a.cost_at_mean_attainment == pytest.approx(20 * 10_000)
    assert a.cost.mean() > a.cost_at_mean_attainment  # Jensen gap
    summary = cost_summary(a)
    cost = summary["cost"]
    assert cost["p5"] <= cost["p10"] <= cost["p50"] <= cost["p90"] <= cost["p99"]
    assert cost["cvar95"] >= cost["p95"]
    assert summary["mc_standard_error"] == pytest.approx(
        a.cost.std(ddof=1) / np.sqrt(2_000)
    )


def test_rep_means_and_cap_probability_use_every_scenario() -> None:
    plan = one_measure_plan(POINTS, target_incentive=1_000, measure={"cap_share": 2.0})
    reps = book([100.0] * 3, 1_000)
    model = LognormalAttainment(sigma=0.5)
    result = simulate(
        plan, reps, model, 3_000, seed=0, chunk_elements=1_000, keep_rep_scenarios=100
    )
    assert result.rep_sample.shape == (100, 3)
    assert np.allclose(result.rep_mean.sum(), result.cost.mean())
    assert result.rep_p_cap.min() > 0 and result.rep_p_cap.max() < 1
    assert result.any_cap.mean() >= result.rep_p_cap.max()


def example_config(tmp_path: Path, **update: object) -> SimulateConfig:
    cfg = load_config(SimulateConfig, REPO / "configs" / "payout" / "simulate.yaml")
    return cfg.model_copy(update={"n_scenarios": 2_000, **update})


def run_into(cfg: SimulateConfig, out: Path, seed: int = 0) -> dict:
    with RunDir(out, "payout-simulate", config=cfg, seed=seed) as run:
        headline = run_simulate(cfg, run.writer, seed)
    return headline


def test_run_simulate_writes_contract_files(tmp_path: Path) -> None:
    cfg = example_config(tmp_path)
    headline = run_into(cfg, tmp_path / "a")
    for key in (
        "cost_p10",
        "cost_p50",
        "cost_p90",
        "cost_mean",
        "cost_at_mean_attainment",
    ):
        assert isinstance(headline[key], float)
    summary = json.loads((tmp_path / "a" / "summary.json").read_text())
    assert set(summary["cost"]) == {
        "mean",
        "p5",
        "p10",
        "p50",
        "p90",
        "p95",
        "p99",
        "cvar95",
    }
    for key in (
        "cost_at_mean_attainment",
        "revenue_mean",
        "cost_pct_revenue",
        "mc_standard_error",
        "n_scenarios",
        "n_reps",
        "p_any_cap",
        "mlflow_run_id",
    ):
        assert key in summary
    assert summary["n_reps"] == 12 and summary["n_scenarios"] == 2_000
    dist = pd.read_csv(tmp_path / "a" / "cost_distribution.csv")
    assert list(dist.columns) == ["cost_low", "cost_high", "count"]
    assert dist["count"].sum() == 2_000
    reps = pd.read_csv(tmp_path / "a" / "rep_payouts.csv")
    assert list(reps.columns) == [
        "rep_id",
        "quota",
        "payout_mean",
        "payout_p10",
        "payout_p50",
        "payout_p90",
        "p_cap",
    ]
    means = pd.read_csv(tmp_path / "a" / "rep_payouts.csv", dtype=str)["payout_mean"]
    as_printed = sum((Decimal(v) for v in means), Decimal(0))
    assert as_printed == Decimal(repr(summary["cost"]["mean"]))  # as written
    curve = pd.read_csv(tmp_path / "a" / "payout_curve.csv")
    at_quota = curve.loc[curve["attainment"] == 1.0, "payout_pct_of_target_incentive"]
    assert at_quota.item() == pytest.approx(100.0)
    assert (tmp_path / "a" / "plots.html").stat().st_size > 1_000


def test_same_seed_gives_byte_identical_files(tmp_path: Path) -> None:
    cfg = example_config(tmp_path, mlflow=TrackingSettings(enabled=False))
    run_into(cfg, tmp_path / "a", seed=3)
    run_into(cfg, tmp_path / "b", seed=3)
    for name in (
        "cost_distribution.csv",
        "rep_payouts.csv",
        "payout_curve.csv",
        "plots.html",
    ):
        assert (tmp_path / "a" / name).read_bytes() == (
            tmp_path / "b" / name
        ).read_bytes()
    a, b = (json.loads((tmp_path / d / "summary.json").read_text()) for d in "ab")
    a.pop("simulate_seconds"), b.pop("simulate_seconds")
    assert a == b


def test_inline_plan_validates_from_a_plain_dict(tmp_path: Path) -> None:
    (tmp_path / "q.csv").write_text("rep_id,quota\nA,100\nB,200\n")
    data = {
        "plan": {
            "target_incentive": 1_000,
            "measures": [{"name": "revenue", "curve": POINTS}],
        },
        "quotas": "q.csv",
        "n_scenarios": 200,
        "mlflow": {"enabled": False},
    }
    cfg = parse_config(SimulateConfig, data, base_dir=tmp_path)
    headline = run_into(cfg, tmp_path / "out")
    assert headline["cost_at_mean_attainment"] == pytest.approx(2_000)


@pytest.mark.parametrize(
    "name", ["simulate.yaml", "simulate_history.yaml", "simulate_deals.yaml"]
)
def test_every_example_config_runs(tmp_path: Path, name: str) -> None:
    cfg = load_config(SimulateConfig, REPO / "configs" / "payout" / name)
    cfg = cfg.model_copy(
        update={"n_scenarios": 400, "mlflow": TrackingSettings(enabled=False)}
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error", SpmoptWarning)  # SPIFs, clawbacks priced
        headline = run_into(cfg, tmp_path / "out")
    assert headline["cost_p10"] <= headline["cost_p50"] <= headline["cost_p90"]
    assert headline["cost_mean"] > 0
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    if name == "simulate_history.yaml":  # the quarterly plan has a clawback
        assert summary["clawback_mean"] < 0
    money = [*summary["cost"].values(), *(summary[k] for k in SUMMARY_MONEY)]
    assert all(_places(v) <= 2 for v in money if v is not None), money
    shares = [summary[k] for k in SUMMARY_SHARES]
    assert all(_places(v) <= 6 for v in shares if v is not None), shares


def _places(value: float) -> int:
    """Decimal places of a float as JSON writes it (no float noise: few)."""
    exponent = Decimal(repr(value)).as_tuple().exponent
    assert isinstance(exponent, int)
    return max(0, -exponent)


def test_deal_by_deal_simulation_prices_spifs(tmp_path: Path) -> None:
    (tmp_path / "q.csv").write_text("rep_id,quota\nA,1000\nB,1000\n")
    (tmp_path / "p.csv").write_text(
        "rep_id,amount,win_probability,tag\n"
        "A,500,1,big\nA,500,1,big\nB,300,0,big\nB,200,1,small\n"
    )
    spif = {
        "name": "big",
        "tag": "big",
        "curve": {
            "basis": "deals",
            "application": "retroactive",
            "tiers": [{"from": 0, "to": 1, "rate": 100}, {"from": 1, "rate": 300}],
        },
    }
    data = {
        "plan": {
            "target_incentive": 1_000,
            "spifs": [spif],
            "measures": [{"name": "revenue", "curve": POINTS}],
        },
        "quotas": "q.csv",
        "attainment": {"kind": "deals", "pipeline": "p.csv"},
        "n_scenarios": 20,
        "mlflow": {"enabled": False},
    }
    cfg = parse_config(SimulateConfig, data, base_dir=tmp_path)
    with RunDir(tmp_path / "out", "payout-simulate", config=cfg) as run:
        run_simulate(cfg, run.writer, 0)
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    # A attains 100 % (1,000) and wins 2 tagged deals (retroactive 2 x 300);
    # B attains 20 %: 0.2 on the points curve is 0.08 x 1,000.
    assert summary["cost"]["p5"] == pytest.approx(1_000 + 600 + 80)
    assert summary["cost"]["p95"] == pytest.approx(1_000 + 600 + 80)


ZERO = {"tiers": [{"from": 0, "rate": 0.0}]}
SPIF_TIERS = {
    "basis": "deals",
    "edges": "upper_inclusive",
    "tiers": [
        {"from": 0, "to": 3, "rate": 250},
        {"from": 3, "to": 6, "rate": 400},
        {"from": 6, "rate": 600},
    ],
}


def spif_plan(curve: dict):  # type: ignore[no-untyped-def]
    return one_measure_plan(
        ZERO, period="quarter", spifs=[{"name": "logo", "curve": curve}]
    )


def poisson_expectation(f, lam: float) -> float:  # type: ignore[no-untyped-def]
    from math import exp, factorial

    return sum(exp(-lam) * lam**k / factorial(k) * f(k) for k in range(80))


@pytest.mark.parametrize("application", ["marginal", "retroactive"])
def test_spif_counts_price_spifs_in_the_parametric_model(application: str) -> None:
    plan = spif_plan({**SPIF_TIERS, "application": application})
    reps = book([100.0] * 10)
    counts = {"logo": {"mean": 2.5, "follows_attainment": False}}
    model = LognormalAttainment.model_validate({"spif_counts": counts})
    result = simulate(plan, reps, model, 3_000, seed=8)

    def pay(k: int) -> float:  # 8 deals: 3,150 tier by tier, 4,800 retroactive
        if application == "retroactive":
            return k * (250 if k <= 3 else 400 if k <= 6 else 600)
        return 250 * min(k, 3) + 400 * min(max(k - 3, 0), 3) + 600 * max(k - 6, 0)

    assert pay(8) == (3_150 if application == "marginal" else 4_800)
    expected = 10 * 4 * poisson_expectation(pay, 2.5)  # reps x quarters
    se = result.cost.std() / np.sqrt(len(result.cost))
    assert result.cost.mean() == pytest.approx(expected, abs=4 * se)


def test_spif_counts_following_attainment_scale_with_its_mean() -> None:
    plan = spif_plan({"basis": "deals", "tiers": [{"from": 0, "rate": 100}]})
    reps = book([100.0] * 10)
    counts = {"logo": {"mean": 2.0}}  # at quota; times the drawn attainment
    model = LognormalAttainment.model_validate(
        {"mean": 0.8, "sigma": 0.3, "spif_counts": counts}
    )
    result = simulate(plan, reps, model, 3_000, seed=9)
    expected = 10 * 4 * 100 * 2.0 * 0.8
    se = result.cost.std() / np.sqrt(len(result.cost))
    assert result.cost.mean() == pytest.approx(expected, abs=4 * se)


def test_spif_counts_for_unknown_spifs_warn(tmp_path: Path) -> None:
    (tmp_path / "q.csv").write_text("rep_id,quota,target_incentive\nA,10,0\n")
    data = {
        "plan": spif_plan(SPIF_TIERS).model_dump(by_alias=True),
        "quotas": "q.csv",
        "attainment": {"spif_counts": {"logos": {"mean": 1}}},
        "mlflow": {"enabled": False},
    }
    cfg = parse_config(SimulateConfig, data, base_dir=tmp_path)
    with pytest.warns(SpmoptWarning, match=r"\['logos'\] are not SPIFs"):
        load_inputs(cfg)
    bad = {**data, "attainment": {"spif_counts": {"logo": {"mean": -1}}}}
    with pytest.raises(ConfigError, match="mean"):
        parse_config(SimulateConfig, bad, base_dir=tmp_path)


@pytest.mark.parametrize("resample", ["by_period", "pooled"])
def test_spif_counts_from_history_come_from_the_resampled_rows(
    tmp_path: Path, resample: str
) -> None:
    # Every past row has deals = 4 x attainment, so a SPIF of 100 per deal
    # pays 400 x the attainment drawn: cost = 400 x sum of attainment.
    rows = "".join(
        f"h{i},{period},{att},{4 * att}\n"
        for period, levels in (("q1", (0.5, 1.0)), ("q2", (1.5, 0.25)))
        for i, att in enumerate(levels)
    )
    (tmp_path / "h.csv").write_text("rep_id,period,attainment,deals\n" + rows)
    plan = spif_plan({"basis": "deals", "tiers": [{"from": 0, "rate": 100}]})
    model = HistoryAttainment.model_validate(
        {
            "history": str(tmp_path / "h.csv"),
            "resample": resample,
            "spif_counts": {"logo": {"history_column": "deals"}},
        }
    )
    reps = book([100.0] * 3)
    model.prepare(plan, reps)
    result = simulate(plan, reps, model, 200, seed=6)
    engine_att = model.draw(np.random.default_rng(0), 10, 3, 4)
    assert set(np.unique(engine_att)) <= {0.5, 1.0, 1.5, 0.25}
    assert result.revenue.shape == (200,)
    # revenue = sum of attainment x quarter quota (25): cost = 400 x revenue / 25
    assert np.allclose(result.cost, 400 * result.revenue / 25)


def test_history_column_counts_need_the_history_model() -> None:
    with pytest.raises(ValueError, match="needs attainment kind: history"):
        LognormalAttainment.model_validate(
            {"spif_counts": {"logo": {"history_column": "deals"}}}
        )
    with pytest.raises(ValueError, match="exactly one of 'mean' or 'history_column'"):
        LognormalAttainment.model_validate({"spif_counts": {"logo": {}}})
