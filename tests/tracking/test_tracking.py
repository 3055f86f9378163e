from pathlib import Path

import mlflow
import pytest

from spmopt.tracking import log_metrics, resolve_tracking_uri, tracked_run


def test_precedence_config_then_env_then_local(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "sqlite:///env.db")
    assert resolve_tracking_uri("sqlite:///cfg.db") == "sqlite:///cfg.db"
    assert resolve_tracking_uri(None) == "sqlite:///env.db"
    monkeypatch.delenv("MLFLOW_TRACKING_URI")
    monkeypatch.chdir(tmp_path)
    assert resolve_tracking_uri() == f"sqlite:///{tmp_path / 'mlruns.db'}"


def test_run_records_params_and_finite_metrics(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'store.db'}"
    with tracked_run("unit", "r1", uri, params={"k": 3}) as run:
        log_metrics({"auc": 0.7, "bad": float("nan"), "label": "x"})
    got = mlflow.MlflowClient(tracking_uri=uri).get_run(run.info.run_id)
    assert got.data.params == {"k": "3"}
    assert got.data.metrics == {"auc": 0.7}
    assert got.info.artifact_uri.startswith((tmp_path / "mlartifacts").as_uri())
