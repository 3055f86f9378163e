"""`spmopt analytics kpis`: a good run and every kind of broken input."""

import json
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest

from spmopt.cli import main

HEADER = "opportunity_id,sales_agent,product,deal_stage,engage_date,close_date"
PIPELINE = (
    HEADER
    + """,close_value
a,Ann,P,Won,2017-01-01,2017-01-11,100
b,Ann,P,Lost,2017-01-05,2017-02-05,0
c,Bob,P,Engaging,2017-02-01,,
d,Bob,P,Won,2017-02-01,2017-04-01,50
e,Cy,P,Won,2017-02-01,2017-04-01,-20
"""
)
TEAMS = "sales_agent,manager\nAnn,M1\nBob,M1\nCy,M2\nDee,M2\n"
PRODUCTS = "product,sales_price\nP,40\n"
QUOTAS = "rep_id,quota\nAnn,200\nBob,0\n"


def _write(tmp: Path, pipeline: str = PIPELINE, extra: str = "") -> Path:
    (tmp / "pipeline.csv").write_text(pipeline.replace(",-20", ",20"))
    (tmp / "teams.csv").write_text(TEAMS)
    (tmp / "products.csv").write_text(PRODUCTS)
    (tmp / "quotas.csv").write_text(QUOTAS)
    config = tmp / "kpis.yaml"
    config.write_text(
        "pipeline: {path: pipeline.csv}\nteams: {path: teams.csv}\n"
        "products: {path: products.csv}\nquotas: {path: quotas.csv}\n" + extra
    )
    return config


def _run(config: Path, out: Path, capsys: pytest.CaptureFixture[str]) -> str:
    code = main(["analytics", "kpis", str(config), "--out", str(out)])
    captured = capsys.readouterr()
    assert code == 2, captured
    assert "Traceback" not in captured.err
    assert not out.exists()
    lines = [line for line in captured.err.splitlines() if line.startswith("error:")]
    assert len(lines) == 1
    return lines[0]


def test_kpis_writes_tables(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "run"
    assert main(["analytics", "kpis", str(_write(tmp_path)), "--out", str(out)]) == 0
    assert "n_deals: 5" in capsys.readouterr().out
    cards = pd.read_csv(out / "scorecards.csv").set_index("rep_id")
    assert set(cards.index) == {"Ann", "Bob", "Cy", "Dee"}
    assert cards.loc["Ann", "attainment"] == pytest.approx(0.5)
    assert "zero quota" in cards.loc["Bob", "flags"]
    assert cards.loc["Dee", "flags"] == "no closed deals"
    kpis = pd.read_csv(out / "kpis.csv")
    bob = kpis[(kpis["rep_id"] == "Bob") & (kpis["period"] == "all")].iloc[0]
    assert bob["open_value"] == pytest.approx(40.0)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["n_reps"] == 4 and summary["has_quotas"] is True


def test_money_is_written_in_cents_and_adds_up(tmp_path: Path) -> None:
    pipeline = PIPELINE.replace(",100\n", ",100.10\n").replace(",50\n", ",49.95\n")
    config = _write(tmp_path, pipeline)
    out = tmp_path / "run"
    assert main(["analytics", "kpis", str(config), "--out", str(out)]) == 0
    kpis = pd.read_csv(out / "kpis.csv", dtype=str, keep_default_na=False)
    for column in ("won_value", "lost_value", "open_value", "avg_deal_size"):
        assert kpis[column].str.fullmatch(r"-?\d+\.\d\d|").all(), column
    total = kpis[(kpis["level"] == "company") & (kpis["period"] == "all")]
    reps = kpis[(kpis["level"] == "rep") & (kpis["period"] == "all")]
    assert total["won_value"].tolist() == ["170.05"]
    assert sum(Decimal(v) for v in reps["won_value"]) == Decimal("170.05")
    cards = pd.read_csv(out / "scorecards.csv", dtype=str, keep_default_na=False)
    assert cards["quota"].tolist().count("200.00") == 1


def test_same_inputs_give_same_bytes(tmp_path: Path) -> None:
    config = _write(tmp_path)
    for name in ("a", "b"):
        assert (
            main(["analytics", "kpis", str(config), "--out", str(tmp_path / name)]) == 0
        )
    for name in ("kpis.csv", "scorecards.csv", "summary.json"):
        first = (tmp_path / "a" / name).read_bytes()
        assert first == (tmp_path / "b" / name).read_bytes()


def test_rep_names_are_neutralised_for_spreadsheets(tmp_path: Path) -> None:
    config = _write(tmp_path, PIPELINE.replace("Cy", "=HYPERLINK(x)"))
    (tmp_path / "teams.csv").write_text(TEAMS.replace("Cy", '"=HYPERLINK(x)"'))
    assert main(["analytics", "kpis", str(config), "--out", str(tmp_path / "r")]) == 0
    text = (tmp_path / "r" / "scorecards.csv").read_text()
    assert "'=HYPERLINK(x)" in text
    assert "\n=HYPERLINK" not in text and ",=HYPERLINK" not in text


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ("missing_file", "file not found"),
        ("missing_column", "missing column(s) ['close_value']"),
        ("wrong_type", "'close_value' must be a number, got 'lots'"),
        ("negative", "'close_value' must be a number >= 0"),
        ("unknown_field", "unknown field 'colour'"),
        ("empty_table", "has no rows"),
        ("bad_period", "field 'period'"),
        ("missing_config", "config file not found"),
    ],
)
def test_broken_inputs(
    tmp_path: Path, capsys: pytest.CaptureFixture, change: str, expected: str
) -> None:
    config = _write(tmp_path)
    pipeline = tmp_path / "pipeline.csv"
    if change == "missing_file":
        pipeline.unlink()
    elif change == "missing_column":
        pipeline.write_text(PIPELINE.replace(",close_value", ",amount"))
    elif change == "wrong_type":
        pipeline.write_text(PIPELINE.replace(",-20", ",lots"))
    elif change == "negative":
        pipeline.write_text(PIPELINE)
    elif change == "unknown_field":
        config.write_text(config.read_text() + "colour: blue\n")
    elif change == "empty_table":
        pipeline.write_text(PIPELINE.splitlines()[0] + "\n")
    elif change == "bad_period":
        config.write_text(config.read_text() + "period: fortnight\n")
    else:
        config = tmp_path / "nope.yaml"
    assert expected in _run(config, tmp_path / "out", capsys)


def test_payouts_and_forecasts_tables(tmp_path: Path) -> None:
    (tmp_path / "payouts.csv").write_text("rep_id,payout_mean\nAnn,10\nCy,2\n")
    (tmp_path / "forecasts.csv").write_text("period,forecast\n2017Q1,80\n2017Q2,60\n")
    extra = (
        "payouts: {path: payouts.csv, payout: payout_mean}\n"
        "forecasts: {path: forecasts.csv}\n"
    )
    config = _write(tmp_path, extra=extra)
    assert main(["analytics", "kpis", str(config), "--out", str(tmp_path / "r")]) == 0
    summary = json.loads((tmp_path / "r" / "summary.json").read_text())
    # won: Ann 100 (Q1), Bob 50 and Cy 20 (Q2); payouts 12 on revenue 170
    assert summary["cost_pct_revenue"] == pytest.approx(12 / 170, abs=1e-6)
    assert summary["forecast_source"] == "table"
    assert summary["forecast_mape"] == pytest.approx((20 / 100 + 10 / 70) / 2, abs=1e-6)
    assert summary["forecast_bias"] == pytest.approx((-20 - 10) / 170, abs=1e-6)


def test_broken_forecasts_table(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    (tmp_path / "forecasts.csv").write_text("period,forecast\n2017Q1,-5\n")
    config = _write(tmp_path, extra="forecasts: {path: forecasts.csv}\n")
    message = _run(config, tmp_path / "out", capsys)
    assert "'forecast' must be a number >= 0" in message


def test_own_column_names_without_teams(tmp_path: Path) -> None:
    (tmp_path / "p.csv").write_text(
        "id,owner,status,opened,closed,amount\n"
        "1,a,Closed Won,2020-01-01,2020-01-15,100\n"
        "2,a,Closed Lost,2020-01-01,2020-02-15,50\n"
        "3,b,Open,2020-02-01,,30\n"
    )
    (tmp_path / "c.yaml").write_text(
        "pipeline: {path: p.csv, deal_id: id, rep_id: owner, stage: status,\n"
        "  created: opened, closed: closed, value: amount, product: null,\n"
        "  won_stages: [Closed Won], lost_stages: [Closed Lost], stage_order: []}\n"
        "teams: null\nproducts: null\nperiod: month\n"
    )
    out = tmp_path / "r"
    assert main(["analytics", "kpis", str(tmp_path / "c.yaml"), "--out", str(out)]) == 0
    kpis = pd.read_csv(out / "kpis.csv")
    months = kpis[(kpis["level"] == "company") & (kpis["period"] != "all")]
    assert months["period"].tolist() == ["2020-01", "2020-02"]
    assert not (out / "stages.csv").exists()
    cards = pd.read_csv(out / "scorecards.csv").set_index("rep_id")
    assert cards.loc["b", "open_value"] == 30.0


def test_headline_money_shows_cents(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    pipeline = PIPELINE.replace("2017-01-11,100", "2017-01-11,4630.76")
    config = _write(tmp_path, pipeline)
    assert main(["analytics", "kpis", str(config), "--out", str(tmp_path / "r")]) == 0
    out = capsys.readouterr().out
    assert "won_value: 4,700.76" in out  # 4630.76 + 50 + 20, not 4,701
    assert "forecast_ape: " in out and "forecast_mape: " in out
    kpis = pd.read_csv(tmp_path / "r" / "kpis.csv")
    company = kpis[(kpis["level"] == "company") & (kpis["period"] == "all")]
    assert company["won_value"].iloc[0] == pytest.approx(4700.76)


def test_period_spellings_in_forecasts_and_quotas_are_mapped(
    tmp_path: Path,
) -> None:
    """``2017-Q2`` is the period ``2017Q2``, not an extra one."""
    (tmp_path / "forecasts.csv").write_text("period,forecast\n2017Q1,80\n2017-Q2,60\n")
    extra = "forecasts: {path: forecasts.csv}\n"
    config = _write(tmp_path, extra=extra)
    (tmp_path / "quotas.csv").write_text(
        "rep_id,quota,period\nAnn,200,Q1-2017\nBob,100,2017-Q2\n"
    )
    text = config.read_text().replace("quotas.csv}", "quotas.csv, period: period}")
    config.write_text(text)
    assert main(["analytics", "kpis", str(config), "--out", str(tmp_path / "r")]) == 0
    accuracy = pd.read_csv(tmp_path / "r" / "forecast_accuracy.csv")
    assert accuracy["period"].tolist() == ["2017Q1", "2017Q2", "all"]
    assert accuracy["actual"].tolist() == pytest.approx([100.0, 70.0, 170.0])
    assert accuracy["bias"].iloc[-1] == pytest.approx((140 - 170) / 170, abs=1e-6)
    kpis = pd.read_csv(tmp_path / "r" / "kpis.csv")
    company = kpis[kpis["level"] == "company"]
    assert sorted(company["period"]) == ["2017Q1", "2017Q2", "all"]
    assert company.set_index("period").loc["2017Q2", "quota"] == pytest.approx(100)


def test_unknown_period_warns_and_quota_rep_without_deals_warns(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    config = _write(tmp_path)
    (tmp_path / "quotas.csv").write_text(
        "rep_id,quota,period\nAnn,200,2017Q1\nGhost,100,2018Q3\n"
    )
    text = config.read_text().replace("quotas.csv}", "quotas.csv, period: period}")
    config.write_text(text)
    assert main(["analytics", "kpis", str(config), "--out", str(tmp_path / "r")]) == 0
    messages = capsys.readouterr().err
    assert "no deal in the pipeline: 'Ghost'" in messages
    assert "closed: 2018Q3;" in messages


def test_misspelt_forecast_period_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    (tmp_path / "forecasts.csv").write_text("period,forecast\n2017Q1,80\n2017-06,60\n")
    config = _write(tmp_path, extra="forecasts: {path: forecasts.csv}\n")
    line = _run(config, tmp_path / "out", capsys)
    assert "forecasts.csv): column 'period' has '2017-06' period" in line
    assert "data row 2" in line and "'2017Q1'" in line


def test_forecast_error_is_forecast_minus_actual_as_written(tmp_path: Path) -> None:
    pipeline = PIPELINE.replace("2017-04-01,50", "2017-04-01,50.255")
    (tmp_path / "forecasts.csv").write_text("period,forecast\n2017Q2,60\n")
    config = _write(tmp_path, pipeline, extra="forecasts: {path: forecasts.csv}\n")
    assert main(["analytics", "kpis", str(config), "--out", str(tmp_path / "r")]) == 0
    text = pd.read_csv(tmp_path / "r" / "forecast_accuracy.csv", dtype=str)
    for row in text.itertuples():
        error = Decimal(row.forecast) - Decimal(row.actual)
        assert Decimal(row.error) == error, row
