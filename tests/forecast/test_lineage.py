"""Training runs recorded in one MLflow store shared by this module."""

import json
import os
import warnings
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import mlflow
import numpy as np
import pandas as pd
import pytest
import yaml

from spmopt.cli import main
from spmopt.config import parse_config
from spmopt.errors import ConfigError, NoSignalWarning
from spmopt.forecast.config import ForecastConfig
from spmopt.forecast.features import load_deals
from spmopt.forecast.lineage import (
    load_forecaster,
    parse_model_ref,
    warn_if_no_signal,
)
from spmopt.forecast.train import run_train
from spmopt.runs import RunWriter


@pytest.fixture(scope="module")
def store(tmp_path_factory, make_config, deals_factory) -> dict[str, Any]:
    """Two runs on the same data: the first becomes champion, the second ties."""
    root = tmp_path_factory.mktemp("lineage")
    deals_factory().to_csv(root / "deals.csv", index=False)
    deals_factory(n=300, seed=9).drop(columns="stage").to_csv(
        root / "open.csv", index=False
    )
    data = make_config("deals.csv")
    data["tracking"] = {"uri": f"sqlite:///{root / 'mlruns.db'}"}
    (root / "forecast.yaml").write_text(yaml.safe_dump(data))
    cfg = parse_config(ForecastConfig, data, base_dir=root)
    runs = []
    for name in ("first", "second"):
        run_train(cfg, RunWriter(root / name), seed=0)
        runs.append(json.loads((root / name / "metrics.json").read_text()))
    return {"root": root, "cfg": cfg, "runs": runs}


def test_first_usable_model_becomes_champion_and_a_tie_does_not(store) -> None:
    first, second = store["runs"]
    assert first["promoted"] is True and first["mlflow_model_version"] == 1
    assert "first usable model" in first["mlflow_promotion"]["reason"]
    assert second["promoted"] is False and second["mlflow_model_version"] == 2
    assert second["mlflow_promotion"]["versus_champion"]["improvement"] == 0.0
    client = mlflow.MlflowClient(tracking_uri=store["cfg"].tracking.uri)
    champion = client.get_model_version_by_alias(
        "spmopt-forecast-synthetic", "champion"
    )
    assert int(champion.version) == 1


def test_logged_model_loads_back_with_the_same_probabilities(store) -> None:
    cfg = store["cfg"]
    deals = load_deals(cfg)
    frame = deals.frame.loc[deals.labelled]
    model = load_forecaster(parse_model_ref("spmopt-forecast-synthetic@champion"), cfg)
    p = model.win_probability(frame)
    assert ((p >= 0) & (p <= 1)).all()
    pyfunc = mlflow.pyfunc.load_model(store["runs"][0]["mlflow_model_uri"])
    features = frame[model.feature_names].copy()
    features.loc[features.index[:5], "region"] = None
    out = pyfunc.predict(features)
    assert list(out.columns) == ["win_probability"]
    assert np.allclose(out["win_probability"].iloc[5:], p[5:])
    run = mlflow.MlflowClient(tracking_uri=cfg.tracking.uri).get_run(
        store["runs"][0]["mlflow_run_id"]
    )
    assert run.data.params["features"] == "owner,region,amount,score"
    assert run.data.metrics["lightgbm_auc"] == pytest.approx(
        store["runs"][0]["models"]["lightgbm"]["auc"]
    )
    assert run.data.tags["spmopt.data_sha256"] == store["runs"][0]["data_sha256"]


def test_unknown_model_reference_is_a_clear_error(store) -> None:
    with pytest.raises(ConfigError, match="cannot load model"):
        load_forecaster("models:/nothing@champion", store["cfg"])
    with pytest.raises(ConfigError, match="NAME@ALIAS"):
        parse_model_ref("two words")
    assert parse_model_ref("m") == "models:/m@champion"


def test_no_signal_run_is_logged_but_never_registered(
    store, deals_factory, make_config
) -> None:
    root = store["root"]
    deals_factory(n=900, seed=5, signal=0.0).to_csv(root / "noise.csv", index=False)
    data = make_config(str(root / "noise.csv"))
    data["tracking"] = {"uri": store["cfg"].tracking.uri}
    data["dataset"] = "noise"
    cfg = parse_config(ForecastConfig, data)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NoSignalWarning)
        run_train(cfg, RunWriter(root / "noise"), 0)
    metrics = json.loads((root / "noise" / "metrics.json").read_text())
    assert metrics["mlflow_run_id"] and metrics["mlflow_model_version"] is None
    assert metrics["promoted"] is False
    client = mlflow.MlflowClient(tracking_uri=cfg.tracking.uri)
    assert not client.search_registered_models("name = 'spmopt-forecast-noise'")
    uri = f"runs:/{metrics['mlflow_run_id']}/model"
    with pytest.warns(NoSignalWarning, match="no usable signal"):
        warn_if_no_signal(uri, cfg)
    model = load_forecaster(uri, cfg)
    assert model.win_probability(load_deals(cfg).frame).std() < 0.1


def test_score_cli_writes_probabilities_reasons_and_pipeline(store, capsys) -> None:
    root: Path = store["root"]
    out = root / "scored"
    argv = ["forecast", "score", str(root / "forecast.yaml"), "--model"]
    argv += ["spmopt-forecast-synthetic@champion", "--input", str(root / "open.csv")]
    assert main([*argv, "--out", str(out), "--samples", "2000"]) == 0
    assert "expected_won_value" in capsys.readouterr().out
    scores = pd.read_csv(out / "scores.csv")
    assert len(scores) == 300 and scores["deal_id"].is_unique
    text = pd.read_csv(out / "scores.csv", dtype=str, keep_default_na=False)
    assert text["expected_value"].str.fullmatch(r"\d+\.\d\d").all()
    assert text["amount"].str.fullmatch(r"\d+\.\d\d|").all()
    assert text["win_probability"].str.fullmatch(r"[01]\.\d{6}").all()  # no 1e-06
    assert scores["win_probability"].between(0, 1).all()
    assert scores["reason_1"].str.match(r"^\w+=.+ \([+-]\d+\.\d\d\)$").all()
    summary = json.loads((out / "pipeline.json").read_text())
    expected = (scores["win_probability"] * scores["amount"]).sum()
    assert summary["expected_won_value"] == pytest.approx(expected, rel=1e-4)
    as_printed = sum(Decimal(x) for x in text["expected_value"])
    assert Decimal(str(summary["expected_won_value"])) == as_printed
    cells = text[["win_probability", "amount", "expected_value"]]
    for p, amount, value in cells.itertuples(index=False):  # ROUND(p*amount, 2)
        product = Decimal(p) * Decimal(amount)
        assert Decimal(value) == product.quantize(Decimal("0.01"), ROUND_HALF_UP)
    for key in ("won_value_p10", "won_value_p50", "won_value_p90"):
        assert Decimal(repr(summary[key])).as_tuple().exponent >= -2  # cents
    assert (
        summary["won_value_p10"] < summary["won_value_p50"] < summary["won_value_p90"]
    )
    assert summary["won_value_p50"] == pytest.approx(expected, rel=0.03)
    again = root / "scored-again"
    assert main([*argv, "--out", str(again), "--samples", "2000"]) == 0
    for name in ("scores.csv", "pipeline.json"):
        assert (out / name).read_bytes() == (again / name).read_bytes()


def test_score_cli_refuses_a_missing_model_or_input(store, capsys) -> None:
    root: Path = store["root"]
    base = ["forecast", "score", str(root / "forecast.yaml")]
    cases = [
        (["--model", "nope@champion", "--input", str(root / "open.csv")], "nope"),
        (["--model", "spmopt-forecast-synthetic", "--input", "x.csv"], "not found"),
    ]
    for extra, message in cases:
        out = root / "bad"
        assert main([*base, *extra, "--out", str(out)]) == 2
        err = capsys.readouterr().err
        assert err.startswith("error: ") and message in err
        assert not out.exists()


def test_score_cli_refuses_a_huge_amount_or_a_repeated_deal(store, capsys) -> None:
    root: Path = store["root"]
    deals = pd.read_csv(root / "open.csv", dtype=str, keep_default_na=False)
    huge = deals.copy()
    huge.loc[4, "amount"] = "1e300"
    twice = pd.concat([deals, deals.iloc[[0]]], ignore_index=True)
    cases = [
        (huge, "(amount) must be a number >= 0 and a finite number within ±1e+15"),
        (twice, "column 'deal' must be unique"),
    ]
    base = ["forecast", "score", str(root / "forecast.yaml")]
    base += ["--model", "spmopt-forecast-synthetic@champion"]
    for frame, message in cases:
        path, out = root / "broken_open.csv", root / "bad"
        frame.to_csv(path, index=False)
        assert main([*base, "--input", str(path), "--out", str(out)]) == 2
        err = capsys.readouterr().err
        assert err.startswith(f"error: {path}: ") and message in err
        assert "Traceback" not in err and not out.exists()


def test_compare_lists_every_run(store, capsys) -> None:
    uri = store["cfg"].tracking.uri
    csv = store["root"] / "runs.csv"
    assert main(["forecast", "compare", "--tracking-uri", uri, "--csv", str(csv)]) == 0
    text = capsys.readouterr().out
    assert "lightgbm_auc" in text and "usable signal" in text
    table = pd.read_csv(csv)
    assert len(table) >= 2 and set(table["promoted"].astype(str)) >= {"True", "False"}
    assert (
        main(["forecast", "compare", "--tracking-uri", uri, "--experiment", "x"]) == 2
    )
    capsys.readouterr()
    inside_a_file = csv / "runs.csv"  # runs.csv is a file, not a folder
    compare = ["forecast", "compare", "--tracking-uri", uri]
    assert main([*compare, "--csv", str(inside_a_file)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: --csv {inside_a_file}: cannot write it (")
    assert "Traceback" not in err and err.count("\n") == 1


def test_forecaster_from_an_older_version_is_refused_clearly() -> None:
    from spmopt.errors import ConfigError
    from spmopt.forecast import WinForecaster
    from spmopt.forecast.lineage import _check_compatible

    old = WinForecaster()
    del old.history
    with pytest.raises(ConfigError, match=r"incompatible spmopt version.*history"):
        _check_compatible("models:/m/1", old)
    _check_compatible("models:/m/1", WinForecaster())
    from spmopt.forecast.models import LightGBMWinModel

    before_compiled = WinForecaster()
    before_compiled.booster_model_ = LightGBMWinModel()
    with pytest.raises(ConfigError, match=r"booster_model_\.ensemble_"):
        _check_compatible("models:/m/2", before_compiled)


def test_compare_bad_store_and_csv_folder(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    missing = f"sqlite:///{tmp_path / 'nodir' / 'x.db'}"
    assert main(["forecast", "compare", "--tracking-uri", missing]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert not (tmp_path / "nodir").exists()
    folder = f"sqlite:///{tmp_path}"
    assert main(["forecast", "compare", "--tracking-uri", folder]) == 2
    assert "is a folder, not a file; pass --tracking-uri" in capsys.readouterr().err
    assert main(["forecast", "compare", "--tracking-uri", "bogus://x"]) == 2
    assert "cannot read tracking store" in capsys.readouterr().err
    assert main(["forecast", "compare", "--csv", str(tmp_path)]) == 2
    assert capsys.readouterr().err == (
        f"error: --csv {tmp_path} is a folder, not a file; give a file name\n"
    )
    os.mkfifo(tmp_path / "pipe.csv")  # a pipe would block (or a device be replaced)
    assert main(["forecast", "compare", "--csv", str(tmp_path / "pipe.csv")]) == 2
    assert capsys.readouterr().err == (
        f"error: --csv {tmp_path / 'pipe.csv'} is not a regular file (a device, "
        "pipe or socket); give a file name\n"
    )


def test_train_cli_output_is_ours_and_mlflow_notices_go_to_debug(
    tmp_path: Path, make_config, deals_factory, capsys
) -> None:
    deals_factory().to_csv(tmp_path / "deals.csv", index=False)
    data = make_config("deals.csv")
    data["tracking"] = {"uri": f"sqlite:///{tmp_path / 'fresh.db'}"}
    (tmp_path / "forecast.yaml").write_text(yaml.safe_dump(data))
    argv = ["forecast", "train", str(tmp_path / "forecast.yaml")]
    assert main([*argv, "--out", str(tmp_path / "a")]) == 0
    captured = capsys.readouterr()
    for notice in ("Successfully registered", "Created version", "mlflow"):
        assert notice not in captured.out + captured.err
    assert "set as @champion" in captured.err


def test_mlflow_output_is_logged_at_debug_after_the_block(capsys, caplog) -> None:
    import sys

    from spmopt.forecast.lineage import mlflow_output_to_debug

    caplog.set_level("DEBUG", logger="spmopt")
    with mlflow_output_to_debug():
        print("Successfully registered model 'm'.", file=sys.stderr)
        print("Created version '1' of model 'm'.\n")
        assert not caplog.records
    captured = capsys.readouterr()
    printed = (captured.out + captured.err).splitlines()  # raw lines, not logged
    assert "Successfully registered model 'm'." not in printed
    assert "Created version '1' of model 'm'." not in printed
    assert [r.getMessage() for r in caplog.records] == [
        "mlflow: Successfully registered model 'm'.",
        "mlflow: Created version '1' of model 'm'.",
    ]
    assert {r.levelname for r in caplog.records} == {"DEBUG"}


def test_score_cli_names_the_input_file_and_its_own_columns(store, capsys) -> None:
    root: Path = store["root"]
    bad = root / "open_without_score.csv"
    pd.read_csv(root / "open.csv").drop(columns="score").to_csv(bad, index=False)
    argv = ["forecast", "score", str(root / "forecast.yaml"), "--model"]
    argv += ["spmopt-forecast-synthetic@champion", "--input", str(bad)]
    assert main([*argv, "--out", str(root / "bad-input")]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {bad}: column(s) ['score'] needed by the model")
    assert err.rstrip().endswith(
        "columns in the file: deal, created, closed, owner, region, amount"
    )
    assert "Traceback" not in err and not (root / "bad-input").exists()
