import json
from pathlib import Path

import pytest
import yaml

from spmopt.cli import main


def _config(tmp_path: Path, data: dict) -> Path:
    path = tmp_path / "forecast.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_train_writes_a_run_folder(make_config, deals_csv, tmp_path, capsys) -> None:
    config = _config(tmp_path, make_config(deals_csv.name))
    out = tmp_path / "run"
    assert (
        main(["forecast", "train", str(config), "--out", str(out), "--seed", "3"]) == 0
    )
    assert "verdict: usable signal" in capsys.readouterr().out
    names = {p.name for p in out.iterdir()}
    assert {
        "metrics.json",
        "reliability.csv",
        "importance.csv",
        "manifest.json",
    } <= names
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["seed"] == 3 and manifest["headline"]["chosen_model"]


def _broken(make_config, deals_factory, tmp_path: Path, case: str) -> Path:
    frame = deals_factory()
    data = make_config("deals.csv")
    if case == "missing file":
        data["table"] = "nowhere.csv"
    elif case == "missing column":
        frame = frame.drop(columns="score")
    elif case == "wrong type":
        frame["amount"] = "lots"
    elif case == "negative value":
        frame.loc[3, "amount"] = "-10"
    elif case == "unknown field":
        data["modle"] = {}
    elif case == "empty table":
        frame = frame.head(0)
    elif case == "one class":
        frame["stage"] = "Closed Lost"
    elif case == "close before engage":
        data["columns"]["close_date"] = "closed"
        frame.loc[6, "closed"] = "2023-01-01"
    frame.to_csv(tmp_path / "deals.csv", index=False)
    return _config(tmp_path, data)


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("missing file", "file not found"),
        ("missing column", "'score'"),
        ("wrong type", "'amount' must be a number, got 'lots'"),
        ("negative value", "'amount' (amount) must be >= 0"),
        ("unknown field", "unknown field 'modle'"),
        ("empty table", "has no rows"),
        ("one class", "no won rows"),
        ("close before engage", "deal 'D00006' in data row 7 has closed 2023-01-01"),
    ],
)
def test_broken_inputs_give_one_message_and_no_folder(
    make_config, deals_factory, tmp_path, capsys, case: str, message: str
) -> None:
    config = _broken(make_config, deals_factory, tmp_path, case)
    out = tmp_path / "run"
    assert main(["forecast", "train", str(config), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err
    assert "Traceback" not in err
    assert not out.exists()
    if case not in ("missing file", "unknown field"):  # the table's content
        assert err.startswith(f"error: {config}: field 'table': ")
    assert not list(tmp_path.glob(".run*"))


def test_score_with_a_missing_input_names_the_option_once(
    make_config, deals_csv, tmp_path, capsys
) -> None:
    config = _config(tmp_path, make_config(deals_csv.name))
    out = tmp_path / "run"
    missing = tmp_path / "nope.csv"
    argv = ["forecast", "score", str(config), "--model", "m@champion"]
    assert main([*argv, "--input", str(missing), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err == f"error: --input: file not found: {missing}\n"
    assert not out.exists()
