import json
import re
import socket
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from spmopt.cli import main
from spmopt.errors import ConfigError
from spmopt.scale.cli import parse_budgets

REPO = Path(__file__).resolve().parents[2]
PAYOUT = REPO / "configs" / "payout"
TERRITORY = REPO / "configs" / "territory" / "counties_southeast.yaml"


def price_config(tmp_path: Path, extra: str = "", quotas: str = "") -> Path:
    quotas = quotas or str(PAYOUT / "quotas_small.csv")
    text = (
        f"plan: {PAYOUT / 'plan_accelerator.yaml'}\n"
        f"quotas: {quotas}\n"
        "n_scenarios: 2000\n"
        "chunk_elements: 4000\n"
        "mlflow: {enabled: false}\n" + extra
    )
    path = tmp_path / "price.yaml"
    path.write_text(text)
    return path


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def files(folder: Path) -> dict[str, bytes]:
    return {
        p.name: p.read_bytes()
        for p in sorted(folder.iterdir())
        if p.name != "manifest.json"
    }


def test_price_writes_the_same_files_in_process_and_on_two_workers(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], client_2: Any
) -> None:
    cfg = price_config(tmp_path)
    first, second = tmp_path / "a", tmp_path / "b"
    code, out, _ = run(["scale", "price", str(cfg), "--out", str(first)], capsys)
    assert code == 0 and "cost_p50" in out
    address = client_2.scheduler_info()["address"]
    argv = ["scale", "price", str(cfg), "--out", str(second), "--scheduler", address]
    assert run(argv, capsys)[0] == 0
    assert files(first) == files(second)
    assert set(files(first)) == {
        "summary.json",
        "rep_payouts.csv",
        "cost_distribution.csv",
    }
    summary = json.loads((first / "summary.json").read_text())
    assert summary["quantiles_exact"] and summary["n_scenarios"] == 2000
    assert summary["cost"]["p10"] <= summary["cost"]["p50"] <= summary["cost"]["p90"]
    manifest = json.loads((second / "manifest.json").read_text())
    assert manifest["headline"]["n_workers"] == 2


@pytest.mark.slow
def test_price_records_an_mlflow_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = price_config(tmp_path)
    text = cfg.read_text().replace("mlflow: {enabled: false}\n", "")
    cfg.write_text(text)
    assert (
        run(["scale", "price", str(cfg), "--out", str(tmp_path / "o")], capsys)[0] == 0
    )
    summary = json.loads((tmp_path / "o" / "summary.json").read_text())
    assert len(summary["mlflow_run_id"]) == 32


@pytest.mark.parametrize(
    ("extra", "quotas_text", "pattern"),
    [
        ("workers: 2\n", None, r"unknown field 'workers'"),
        ("scheduler: {mode: local, n_workers: 0}\n", None, r"scheduler\.n_workers"),
        ("batch_size: -5\n", None, r"batch_size"),
        ("", "rep_id,target\nR1,5\n", r"missing column\(s\) \['quota'\]"),
        ("", "rep_id,quota\nR1,abc\n", r"'quota' must be a number.*'abc'"),
        ("", "rep_id,quota\nR1,-100\n", r"'quota' must be a number > 0.*-100"),
        ("", "rep_id,quota\n", r"has no rows"),
    ],
)
def test_price_bad_inputs_fail_cleanly(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    extra: str,
    quotas_text: str | None,
    pattern: str,
) -> None:
    quotas = ""
    if quotas_text is not None:
        quotas = str(tmp_path / "quotas.csv")
        Path(quotas).write_text(quotas_text)
    cfg = price_config(tmp_path, extra, quotas)
    target = tmp_path / "out"
    code, _, err = run(["scale", "price", str(cfg), "--out", str(target)], capsys)
    assert code == 2
    assert err.startswith("error:") and "Traceback" not in err
    assert re.search(pattern, err), err
    assert not target.exists()
    assert not any(p.name.startswith(".out") for p in tmp_path.iterdir())


def test_price_missing_config_and_bad_scheduler(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "out"
    code, _, err = run(["scale", "price", str(tmp_path / "nope.yaml")], capsys)
    assert code == 2 and "config file not found" in err
    cfg = price_config(tmp_path)
    argv = ["scale", "price", str(cfg), "--scheduler", "cluster", "--out", str(target)]
    code, _, err = run(argv, capsys)
    assert code == 2 and "--scheduler must be" in err and "'cluster'" in err
    assert not target.exists()


def test_sweep_plans_reports_each_design(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = price_config(tmp_path)
    sweep = tmp_path / "sweep.yaml"
    sweep.write_text(
        f"designs: {{base: {base}, again: {base}}}\ntime_limit_seconds: 60\n"
    )
    target = tmp_path / "out"
    assert (
        run(["scale", "sweep-plans", str(sweep), "--out", str(target)], capsys)[0] == 0
    )
    designs = (target / "designs.csv").read_text().splitlines()
    assert designs[0].startswith("design,status,plan,cost_mean")
    assert len(designs) == 3
    table = pd.read_csv(target / "designs.csv", dtype=str, keep_default_na=False)
    for column in ("cost_mean", "cost_p50", "cost_p99", "cost_at_mean_attainment"):
        assert table[column].str.fullmatch(r"\d+\.\d\d").all(), column
    assert json.loads((target / "summary.json").read_text())["n_ok"] == 2


def test_sweep_plans_with_a_missing_design_file_fails_before_running(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sweep = tmp_path / "sweep.yaml"
    sweep.write_text("designs: {ghost: ghost.yaml}\n")
    target = tmp_path / "out"
    code, _, err = run(
        ["scale", "sweep-plans", str(sweep), "--out", str(target)], capsys
    )
    assert code == 2 and "ghost.yaml" in err
    assert not target.exists()


def test_sweep_disruption_rejects_bad_budgets_before_solving(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "out"
    argv = ["scale", "sweep-disruption", str(TERRITORY), "--budgets", "0.1,1.5"]
    code, _, err = run([*argv, "--out", str(target)], capsys)
    assert code == 2 and "--budgets" in err and "1.5" in err
    assert not target.exists()


def test_parse_budgets() -> None:
    assert parse_budgets("0.05, 0.1,1") == [0.05, 0.1, 1.0]
    for text in ("", "x", "-0.1"):
        with pytest.raises(ConfigError, match="--budgets"):
            parse_budgets(text)


TERRITORY_YAML = """units:
  table: units.csv
  potential: {column: pot}
reps:
  rows:
    - {rep_id: R1, lat: 30, lon: -80}
    - {rep_id: R2, lat: 31, lon: -81}
current: nearest
"""


@pytest.mark.parametrize(
    ("units", "extra", "pattern"),
    [
        ("unit_id,lat,lon,pot\nA,30,-80,5\nB,31,-81,-3\n", "", r"'pot'.*>= 0.*-3"),
        ("unit_id,lat,lon\nA,30,-80\n", "", r"missing column\(s\) \['pot'\]"),
        ("unit_id,lat,lon,pot\n", "", r"has no rows"),
        ("unit_id,lat,lon,pot\nA,30,-80,x\n", "", r"'pot' must be a number.*'x'"),
        (
            "unit_id,lat,lon,pot\nA,30,-80,5\n",
            "colour: red\n",
            r"unknown field 'colour'",
        ),
    ],
)
def test_sweep_disruption_bad_inputs_fail_cleanly(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    units: str,
    extra: str,
    pattern: str,
) -> None:
    (tmp_path / "units.csv").write_text(units)
    cfg = tmp_path / "territory.yaml"
    cfg.write_text(TERRITORY_YAML + extra)
    target = tmp_path / "out"
    argv = ["scale", "sweep-disruption", str(cfg), "--budgets", "0.5"]
    code, _, err = run([*argv, "--out", str(target)], capsys)
    assert code == 2 and err.startswith("error:") and "Traceback" not in err
    assert re.search(pattern, err), err
    assert not target.exists()


def test_sweep_plans_unknown_field_and_missing_config(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sweep = tmp_path / "sweep.yaml"
    sweep.write_text("designs: {a: a.yaml}\nparallel: 4\n")
    code, _, err = run(["scale", "sweep-plans", str(sweep)], capsys)
    assert code == 2 and "unknown field 'parallel'" in err
    code, _, err = run(["scale", "sweep-plans", str(tmp_path / "none.yaml")], capsys)
    assert code == 2 and "config file not found" in err


def test_sweep_disruption_with_no_feasible_budget_fails_and_keeps_the_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "units.csv").write_text(
        "unit_id,lat,lon,pot\nA,30,-80,10\nB,30.1,-80,10\nC,31,-81,1\n"
    )
    cfg = tmp_path / "territory.yaml"
    cfg.write_text(TERRITORY_YAML + "track: false\n")
    target = tmp_path / "out"
    argv = ["scale", "sweep-disruption", str(cfg), "--budgets", "0.01,0"]
    code, _, err = run([*argv, "--out", str(target)], capsys)
    assert code == 2 and "error: no design of the sweep" in err
    assert "Traceback" not in err
    assert "budget=0.01" in err and "designs.csv" in err
    designs = (target / "designs.csv").read_text().splitlines()
    assert designs[1].startswith("budget=0,error,")
    assert designs[2].startswith("budget=0.01,error,")
    assert "InfeasibleError" not in "\n".join(designs) + err  # messages only
    assert json.loads((target / "summary.json").read_text())["n_ok"] == 0


def test_sweep_disruption_refuses_a_design_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    design = REPO / "configs" / "territory" / "counties_design_carolina.yaml"
    target = tmp_path / "out"
    argv = ["scale", "sweep-disruption", str(design), "--budgets", "0.5"]
    code, _, err = run([*argv, "--out", str(target)], capsys)
    assert code == 2 and "mode 'rebalance'" in err and "'design'" in err
    assert "Traceback" not in err and not target.exists()


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("tcp://", "tcp:// needs HOST:PORT"),
        ("tcp://127.0.0.1:notaport", "port 'notaport' is not a whole number"),
        ("tcp://127.0.0.1", "tcp:// needs HOST:PORT"),
        ("tcp://:8786", "tcp:// needs HOST:PORT"),
    ],
)
def test_a_malformed_scheduler_address_is_one_line_before_work(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], value: str, reason: str
) -> None:
    target = tmp_path / "out"
    cfg = price_config(tmp_path)
    argv = ["scale", "price", str(cfg), "--scheduler", value, "--out", str(target)]
    code, _, err = run(argv, capsys)
    assert code == 2 and "Traceback" not in err
    assert err.count("\n") == 1 and err.startswith(f"error: --scheduler {value!r}")
    assert reason in err and "tcp://127.0.0.1:8786" in err  # the allowed form
    assert not target.exists()


def test_a_scheduler_nothing_listens_at_is_one_line_without_waiting(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as sock:  # a loopback port nothing listens at
        sock.bind(("127.0.0.1", 0))
        address = f"tcp://127.0.0.1:{sock.getsockname()[1]}"
    target = tmp_path / "out"
    cfg = price_config(tmp_path)
    argv = ["scale", "price", str(cfg), "--scheduler", address, "--out", str(target)]
    code, _, err = run(argv, capsys)
    assert code == 2 and err.count("\n") == 1
    assert err == (
        f"error: scheduler.address {address!r} could not be reached (connection "
        "refused); start the scheduler there or give another address\n"
    )
    assert not target.exists()


def test_a_scheduler_that_accepts_and_never_answers_is_one_line(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    silent_scheduler: str,
) -> None:
    from spmopt.scale import config

    parse = config.parse_scheduler

    def one_second(text: str, source: str = "--scheduler") -> Any:
        update = {"connect_timeout_seconds": 1.0}  # default 20 s: keep tests fast
        return parse(text, source).model_copy(update=update)

    monkeypatch.setattr(config, "parse_scheduler", one_second)
    target = tmp_path / "out"
    cfg = price_config(tmp_path)
    argv = ["scale", "price", str(cfg), "--scheduler", silent_scheduler]
    code, _, err = run([*argv, "--out", str(target)], capsys)
    assert code == 2 and err.count("\n") == 1
    assert err.startswith(f"error: scheduler.address {silent_scheduler!r} accepted")
    assert "no Dask handshake within 1 s" in err
    assert not target.exists()
