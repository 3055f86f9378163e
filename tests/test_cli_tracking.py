"""The CLI when the MLflow store is unusable: one error line, nothing left."""

from pathlib import Path

import pytest

from spmopt.cli import main

CONFIGS = Path(__file__).resolve().parents[1] / "configs"


def _simulate(out: Path) -> int:
    config = CONFIGS / "payout" / "simulate.yaml"
    return main(["payout", "simulate", str(config), "--out", str(out)])


def _error_line(capsys: pytest.CaptureFixture[str]) -> str:
    lines = [ln for ln in capsys.readouterr().err.splitlines() if ln.strip()]
    errors = [ln for ln in lines if ln.startswith("error: ")]
    assert len(errors) == 1 and "Traceback" not in "\n".join(lines)
    return errors[0]


UNREACHABLE = "http://127.0.0.1:1"  # a closed port on this machine
FORECAST = CONFIGS / "forecast"
COMMANDS = {
    "payout simulate": [
        "payout",
        "simulate",
        str(CONFIGS / "payout" / "simulate.yaml"),
    ],
    "forecast compare": ["forecast", "compare"],
    "forecast score": [
        "forecast",
        "score",
        str(FORECAST / "ibm.yaml"),
        "--model",
        "spmopt-forecast-ibm@champion",
        "--input",
        str(FORECAST / "ibm_open_deals.csv"),
    ],
    "demo": ["demo"],
}


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_unreachable_server_is_one_error_and_leaves_nothing(
    command: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", UNREACHABLE)
    argv = COMMANDS[command]
    if command != "forecast compare":
        argv = [*argv, "--out", str(tmp_path / "runs" / "x")]
    assert main(argv) == 2
    assert f"tracking store {UNREACHABLE} cannot be reached" in _error_line(capsys)
    assert not (tmp_path / "runs").exists()


def test_corrupt_sqlite_store_is_one_error_and_leaves_nothing(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    db = tmp_path / "mlruns.db"
    db.write_text("garbage\n")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{db}")
    assert _simulate(tmp_path / "runs" / "p") == 2
    assert _error_line(capsys).startswith(
        f"error: tracking store sqlite:///{db} is not a usable MLflow database ("
    )
    assert not (tmp_path / "runs").exists()
    assert db.read_text() == "garbage\n"
