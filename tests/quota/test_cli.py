"""`spmopt quota set` end to end, including broken inputs."""

import json
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest
import yaml

from spmopt.cli import main
from spmopt.config import parse_config
from spmopt.quota import QuotaConfig, run_set
from spmopt.runs import RunDir

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "configs" / "quota" / "small_team.yaml"


def _write(tmp_path: Path, table: str, **overrides: object) -> Path:
    (tmp_path / "reps.csv").write_text(table)
    cfg = {"reps": "reps.csv", "target": 1000.0, "bounds": {"floor": 0.5}}
    cfg.update(overrides)
    path = tmp_path / "quota.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


GOOD = "rep_id,potential\nA,600\nB,900\n"


def test_example_config_runs_and_sums_to_the_cent(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "run"
    assert main(["quota", "set", str(EXAMPLE), "--out", str(out)]) == 0
    assert "quota_sum" in capsys.readouterr().out
    text = (out / "quotas.csv").read_text()
    quotas = pd.read_csv(out / "quotas.csv", dtype={"quota": str})
    total = sum(Decimal(q) for q in quotas["quota"])
    target = Decimal(str(yaml.safe_load(EXAMPLE.read_text())["target"]))
    assert total == target
    assert "p_attain" in text and "binding" in text
    money = pd.read_csv(out / "quotas.csv", dtype=str)
    for column in ("potential", "history", "reference_quota", "quota", "floor", "cap"):
        assert money[column].str.fullmatch(r"\d+\.\d\d").all(), column  # 1696000.00
    floors = pd.read_csv(out / "quotas.csv")
    assert (floors["quota"] >= floors["floor"] - 1e-9).all()
    assert (floors["quota"] <= floors["cap"] + 1e-9).all()


def test_same_seed_gives_identical_files(tmp_path: Path) -> None:
    for name in ("a", "b"):
        assert (
            main(
                [
                    "quota",
                    "set",
                    str(EXAMPLE),
                    "--out",
                    str(tmp_path / name),
                    "--seed",
                    "4",
                ]
            )
            == 0
        )
    assert (tmp_path / "a" / "quotas.csv").read_bytes() == (
        tmp_path / "b" / "quotas.csv"
    ).read_bytes()
    summary = (tmp_path / "a" / "summary.json").read_text()
    assert '"quota_sum"' in summary


def test_minimal_table_without_months_in_seat(tmp_path: Path) -> None:
    path = _write(tmp_path, GOOD)
    assert main(["quota", "set", str(path), "--out", str(tmp_path / "r")]) == 0
    quotas = pd.read_csv(tmp_path / "r" / "quotas.csv")
    assert quotas["quota"].tolist() == [400.0, 600.0]


BROKEN = [
    ("rep_id,potential\n", {}, "no rows"),
    ("rep_id,value\nA,1\n", {}, "missing column(s) ['potential']"),
    ("rep_id,potential\nA,lots\n", {}, "column 'potential' must be a number"),
    ("rep_id,potential\nA,-5\nB,10\n", {}, "must be a number >= 0"),
    ("rep_id,potential\nA,5\nA,10\n", {}, "must be unique"),
    (GOOD, {"colour": "red"}, "unknown field 'colour'"),
    (GOOD, {"target": -1}, "field 'target'"),
    (GOOD, {"bounds": {"floor": 1.2, "cap": 1.1}}, "floor 1.2 must not exceed cap"),
    (GOOD, {"reps": "nowhere.csv"}, "file not found"),
    (
        GOOD,
        {"bounds": {"floor": 0.9}},
        "sum of floors 1,350 exceeds target 1,000 by 350",
    ),
    (GOOD, {"bounds": {"cap": 0.5}}, "sum of caps 750 falls short of target 1,000"),
    (
        GOOD,
        {"target": 1000.005},
        "field 'target' is invalid: target 1000.005 is not a whole number of "
        "rounding units",
    ),
]


@pytest.mark.parametrize(("reps", "overrides", "message"), BROKEN)
def test_broken_inputs_give_one_clear_message(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    reps: str,
    overrides: dict[str, object],
    message: str,
) -> None:
    path = _write(tmp_path, reps, **overrides)
    out = tmp_path / "out"
    assert main(["quota", "set", str(path), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err
    assert not out.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out")]


def test_reps_table_errors_name_the_config_and_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write(tmp_path, "rep_id,potential\nA,600\nB,-5\n")
    assert main(["quota", "set", str(path), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    reps = tmp_path / "reps.csv"
    assert err.startswith(f"error: {path}: field 'reps': {reps}: ")
    assert "'potential'" in err and len(err.splitlines()) == 1


def test_missing_config_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        ["quota", "set", str(tmp_path / "none.yaml"), "--out", str(tmp_path / "o")]
    )
    assert code == 2
    assert "config file not found" in capsys.readouterr().err


def test_stretch_mode_sets_the_target_from_the_goal(tmp_path: Path) -> None:
    stretch = REPO / "configs" / "quota" / "small_team_stretch.yaml"
    out = tmp_path / "s"
    assert main(["quota", "set", str(stretch), "--out", str(out)]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["mode"] == "stretch"
    assert summary["quota_sum"] == summary["target"]
    assert summary["share_expected_to_attain"] == pytest.approx(0.6, abs=0.01)
    assert summary["stretch"]["implied_target"] == summary["target"]


def test_phasing_rows_sum_to_each_annual_quota(tmp_path: Path) -> None:
    out = tmp_path / "p"
    assert main(["quota", "set", str(EXAMPLE), "--out", str(out)]) == 0
    quotas = pd.read_csv(out / "quotas.csv", dtype={"quota": str})
    phased = pd.read_csv(out / "quotas_by_period.csv", dtype={"quota": str})
    assert phased["period"].unique().tolist() == ["Q1", "Q2", "Q3", "Q4"]
    annual = dict(zip(quotas["rep_id"], map(Decimal, quotas["quota"]), strict=True))
    for rep, group in phased.groupby("rep_id"):
        assert sum(Decimal(q) for q in group["quota"]) == annual[rep]
    assert phased["quota"].str.fullmatch(r"\d+\.\d\d").all()


def test_phasing_needs_one_source(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write(tmp_path, GOOD, phasing={"periods": "quarter", "weights": [1, 2]})
    assert main(["quota", "set", str(path), "--out", str(tmp_path / "o")]) == 2
    assert "quarter phasing needs 4 weights, got 2" in capsys.readouterr().err


def test_open_deals_raise_the_chance_of_attaining(tmp_path: Path) -> None:
    (tmp_path / "deals.csv").write_text("rep_id,amount,p_win\nA,300,0.9\nA,50,0.2\n")
    base = _write(tmp_path, GOOD, target=1400.0)
    assert main(["quota", "set", str(base), "--out", str(tmp_path / "a")]) == 0
    with_deals = _write(
        tmp_path, GOOD, target=1400.0, open_deals={"table": "deals.csv"}
    )
    assert main(["quota", "set", str(with_deals), "--out", str(tmp_path / "b")]) == 0
    before = pd.read_csv(tmp_path / "a" / "quotas.csv")["p_attain"]
    after = pd.read_csv(tmp_path / "b" / "quotas.csv")["p_attain"]
    assert after[0] > before[0] + 0.2 and after[1] == before[1]
    summary = json.loads((tmp_path / "b" / "summary.json").read_text())
    assert summary["open_deals"] == {
        "n_deals": 2,
        "n_rows": 2,
        "expected_value": 280.0,
    }


@pytest.mark.parametrize(
    ("deals", "message"),
    [
        ("rep_id,amount,p_win\nZ,1,0.5\n", "rep 'Z' in column 'rep_id' is not in"),
        ("rep_id,amount,p_win\nA,1,1.5\n", "'p_win' must be in [0, 1], got 1.5"),
        ("rep_id,amount\nA,1\n", "missing column(s) ['p_win']"),
        (
            "deal_id,rep_id,amount,p_win\nD1,A,5,0.5\nD2,A,1,0.5\nD1,A,5,0.5\n",
            "deals.csv: column 'deal_id' must not repeat a deal id for the same "
            "rep: 'D1' for rep_id 'A' (data rows 1, 3); each row would be won and "
            "counted again",
        ),
        (
            "deal_id,rep_id,amount,p_win\nD1,A,5,0.5\nD1,B,5,0.7\n",
            "deals.csv: rows of deal id 'D1' in column 'deal_id' (data rows 1, 2) "
            "split the deal between reps but give different 'p_win' (0.5, 0.7)",
        ),
    ],
)
def test_broken_open_deals(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], deals: str, message: str
) -> None:
    (tmp_path / "deals.csv").write_text(deals)
    path = _write(tmp_path, GOOD, open_deals={"table": "deals.csv"})
    assert main(["quota", "set", str(path), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert message in err
    assert err.startswith(f"error: {path}: field 'open_deals.table': ")
    assert not (tmp_path / "o").exists()


def test_open_deals_given_as_a_file_name_says_what_it_takes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "deals.csv").write_text("rep_id,amount,p_win\nA,1,0.5\n")
    path = _write(tmp_path, GOOD, open_deals="deals.csv")
    assert main(["quota", "set", str(path), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err == (
        f"error: {path}: field 'open_deals' must be a mapping with 'table: <file>' "
        "(optional: rep_id_column, amount_column, p_win_column, deal_id_column), "
        "e.g. 'open_deals: {table: deals.csv}', got 'deals.csv'\n"
    )
    assert not (tmp_path / "o").exists()


def test_open_deals_may_split_a_deal_between_reps(tmp_path: Path) -> None:
    (tmp_path / "deals.csv").write_text(
        "deal_id,rep_id,amount,p_win\nD1,A,300,0.9\nD1,B,100,0.9\n,A,50,0.2\n"
        ",A,50,0.2\n"  # blank ids: deals of their own
    )
    path = _write(tmp_path, GOOD, target=1400.0, open_deals={"table": "deals.csv"})
    assert main(["quota", "set", str(path), "--out", str(tmp_path / "b")]) == 0
    summary = json.loads((tmp_path / "b" / "summary.json").read_text())
    # D1 is one deal on two rows (won or lost for A and B together)
    assert summary["open_deals"] == {
        "n_deals": 3,
        "n_rows": 4,
        "expected_value": 380.0,
    }


def test_chain_from_the_potential_model_uses_its_quantiles(tmp_path: Path) -> None:
    config = REPO / "configs" / "quota" / "maven_agents_2018_01.yaml"
    out = tmp_path / "jan"
    assert main(["quota", "set", str(config), "--out", str(out)]) == 0
    quotas = pd.read_csv(out / "quotas.csv")
    assert quotas["quota"].sum() == 700000
    assert (quotas["quota"] % 1 == 0).all()
    assert {"potential_p10", "potential_p50", "potential_p90"} <= set(quotas)
    summary = json.loads((out / "summary.json").read_text())
    assert "P10/P50/P90" in summary["attainment_distribution"]


@pytest.mark.slow
def test_tracked_run_records_an_mlflow_id(tmp_path: Path) -> None:
    # slow: creating the MLflow SQLite store takes 10-20 s on a busy machine
    path = _write(tmp_path, GOOD, track=True)
    assert main(["quota", "set", str(path), "--out", str(tmp_path / "t")]) == 0
    summary = json.loads((tmp_path / "t" / "summary.json").read_text())
    assert isinstance(summary["mlflow_run_id"], str)


def test_runner_on_a_territories_table_from_a_plain_dict(tmp_path: Path) -> None:
    # The demo builds the config from a dict and points it at territories.csv.
    (tmp_path / "territories.csv").write_text(
        "rep_id,units,potential,workload,capacity,target_potential,"
        "share_of_target,distance_km\n"
        "ATL,40,5200.0,30.1,40,5000.0,1.04,120.5\n"
        "CLT,35,4800.0,28.0,40,5000.0,0.96,98.2\n"
        "=BAD,3,0.0,1.0,40,5000.0,0.0,0.0\n"
    )
    cfg = parse_config(
        QuotaConfig, {"reps": "bundled:x", "target": 9000000, "rounding_decimals": 0}
    )
    cfg = cfg.model_copy(update={"reps": str(tmp_path / "territories.csv")})
    with RunDir(tmp_path / "demo", "demo") as run:
        headline = run_set(cfg, run.view("quota"), seed=0)
    quotas = pd.read_csv(tmp_path / "demo" / "quota" / "quotas.csv")
    assert headline["quota_sum"] == 9000000
    assert quotas["quota"].tolist() == [4680000, 4320000, 0]
    assert quotas["rep_id"].iloc[2] == "'=BAD"  # spreadsheet-safe


def test_midyear_reset_splits_what_is_left_of_the_target(tmp_path: Path) -> None:
    config = REPO / "configs" / "quota" / "small_team_midyear.yaml"
    out = tmp_path / "h2"
    assert main(["quota", "set", str(config), "--out", str(out)]) == 0
    quotas = pd.read_csv(out / "quotas.csv", dtype={"quota": str, "bookings_ytd": str})
    left = sum(map(Decimal, quotas["quota"]))
    done = sum(map(Decimal, quotas["bookings_ytd"]))
    assert left + done == Decimal("14250000.00")
    summary = json.loads((out / "summary.json").read_text())
    assert summary["ytd"]["remaining_target"] == float(left)


@pytest.mark.parametrize(
    ("table", "fields", "message"),
    [
        (
            "rep_id,potential,bookings_ytd\nA,600,700\nB,900,400\n",
            {"ytd": {"months_elapsed": 6}},
            "bookings to date 1,100.00 already reach the target 1,000.00",
        ),
        (GOOD, {"ytd": {"months_elapsed": 6}}, "missing column(s) ['bookings_ytd']"),
        (GOOD, {"ytd": {"months_elapsed": 12}}, "must be below period_months 12"),
    ],
)
def test_broken_midyear_reset(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    table: str,
    fields: dict[str, object],
    message: str,
) -> None:
    path = _write(tmp_path, table, **fields)
    assert main(["quota", "set", str(path), "--out", str(tmp_path / "o")]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_a_rep_with_potential_zero_is_named_and_does_not_attain(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write(tmp_path, "rep_id,potential\nA,600\nB,900\nZ,0\n")
    assert main(["quota", "set", str(path), "--out", str(tmp_path / "r")]) == 0
    assert "SpmoptWarning: 1 rep(s) get quota 0: Z (potential 0)" in (
        capsys.readouterr().err
    )
    quotas = pd.read_csv(tmp_path / "r" / "quotas.csv").set_index("rep_id")
    assert quotas.loc["Z", "quota"] == 0 and quotas.loc["Z", "p_attain"] == 0
    summary = json.loads((tmp_path / "r" / "summary.json").read_text())
    share = quotas.loc[["A", "B"], "p_attain"].sum() / 3
    assert summary["share_expected_to_attain"] == pytest.approx(share, abs=1e-6)
