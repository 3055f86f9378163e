"""The execution setting on forecast train, quota set and potential, payout simulate.

Clusters are the shared local test clusters (worker processes on
127.0.0.1); the command-line tests reach them through their address, so
no test starts a cluster of its own.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml

from spmopt.cli import main
from spmopt.config import load_config
from spmopt.payout import SimulateConfig, simulate
from spmopt.payout.simulate import load_inputs
from spmopt.quota import closed_form_p_attain, simulate_attainment
from spmopt.scale.attainment import attainment_batch_sizes, simulate_attainment_batches
from spmopt.scale.config import SCHEDULER_ENV
from spmopt.scale.context import active_client, client_scope, scheduler_scope
from spmopt.scale.simulation import group_chunks, simulate_on_cluster

REPO = Path(__file__).resolve().parents[2]
PAYOUT = REPO / "configs" / "payout" / "simulate.yaml"
PAYOUT_HISTORY = REPO / "configs" / "payout" / "simulate_history.yaml"
QUOTA = REPO / "configs" / "quota" / "small_team.yaml"
POTENTIAL = REPO / "configs" / "quota" / "potential_maven_accounts.yaml"


def _address(client: Any) -> str:
    return str(client.scheduler.address)


def _same_files(a: Path, b: Path, skip: tuple[str, ...] = ()) -> None:
    names = sorted(p.name for p in a.iterdir() if p.name != "manifest.json")
    assert names == sorted(p.name for p in b.iterdir() if p.name != "manifest.json")
    for name in names:
        if name not in skip:
            assert (a / name).read_bytes() == (b / name).read_bytes(), name


def _headline(run: Path) -> dict[str, Any]:
    return dict(json.loads((run / "manifest.json").read_text())["headline"])


# --- scope -----------------------------------------------------------------


def test_no_scope_or_scheduler_none_means_in_process() -> None:
    assert active_client() is None
    with scheduler_scope(None, "none", {}) as scope:
        assert active_client(10**12) is None
        assert not scope.started


def test_large_work_starts_a_cluster_only_when_nothing_was_set() -> None:
    from spmopt.scale.config import SchedulerConfig
    from spmopt.scale.context import SchedulerScope

    given = SchedulerScope(SchedulerConfig(mode="none"), explicit=True, large_size=10)
    assert given.client(size=10**9) is None and not given.started
    default = SchedulerScope(SchedulerConfig(), explicit=False, large_size=10**6)
    assert default.client(size=999_999) is None
    with scheduler_scope(None, None, {SCHEDULER_ENV: "none"}) as scope:
        assert scope.explicit and active_client(10**12) is None


def test_scope_gives_the_client_and_forgets_it_after(client_1: Any) -> None:
    with client_scope(client_1):
        assert active_client() is client_1
    assert active_client() is None


# --- payout simulate ---------------------------------------------------------


def test_group_chunks_cover_every_chunk_in_order() -> None:
    sizes = [100] * 7 + [30]
    groups = group_chunks(sizes, per_scenario=50, task_elements=10_000)
    assert [g[0] for g in groups] == [0, 2, 4, 6]
    assert [g[2] for g in groups] == [200, 200, 200, 130]
    assert [g[1] for g in groups] == [0, 200, 400, 600]
    assert group_chunks(sizes, 50, task_elements=1) == [
        (i, 100 * i, n) for i, n in enumerate(sizes)
    ]


def _payout_inputs(path: Path = PAYOUT) -> tuple[Any, Any, Any, SimulateConfig]:
    cfg = load_config(SimulateConfig, path)
    plan, book = load_inputs(cfg)
    return plan, book, cfg.attainment, cfg


def test_simulation_on_one_or_two_workers_equals_the_simulator(
    client_1: Any, client_2: Any
) -> None:
    plan, book, model, _ = _payout_inputs()
    args = (plan, book, model, 3_000, 11)
    local = simulate(*args, chunk_elements=8_000, keep_rep_scenarios=700)
    runs = [
        simulate_on_cluster(c, *args, 8_000, 700, task_elements=20_000)
        for c in (client_1, client_2)
    ]
    assert runs[0].rep_mean.tolist() == runs[1].rep_mean.tolist()
    for run in runs:
        for name in ("cost", "revenue", "any_cap", "rep_p_cap", "rep_sample"):
            assert np.array_equal(getattr(run, name), getattr(local, name)), name
        np.testing.assert_allclose(run.rep_mean, local.rep_mean, rtol=1e-12)
        assert run.cost_at_mean_attainment == local.cost_at_mean_attainment
    assert np.percentile(runs[1].cost, 90) == np.percentile(local.cost, 90)


def test_clawbacks_and_spifs_come_back_from_the_cluster(client_2: Any) -> None:
    plan, book, model, _ = _payout_inputs(PAYOUT_HISTORY)
    args = (plan, book, model, 600, 5)
    local = simulate(*args, chunk_elements=4_000)
    remote = simulate_on_cluster(client_2, *args, 4_000, task_elements=8_000)
    assert local.clawback is not None and remote.clawback is not None
    assert np.any(local.clawback != 0)
    assert np.array_equal(remote.clawback, local.clawback)
    assert np.array_equal(remote.cost, local.cost)
    assert remote.cost_at_mean_attainment == local.cost_at_mean_attainment


def test_simulate_goes_to_the_cluster_of_the_scope(client_2: Any) -> None:
    plan, book, model, _ = _payout_inputs()
    local = simulate(plan, book, model, 500, 3)
    with client_scope(client_2) as scope:
        remote = simulate(plan, book, model, 500, 3)
        assert scope.n_workers == 2
    assert np.array_equal(remote.cost, local.cost)


# --- quota attainment --------------------------------------------------------


def _quota_case() -> dict[str, Any]:
    mean = np.linspace(50.0, 150.0, 40)
    return {"quota": mean * 0.9, "mean": mean, "cv": 0.3}


def test_attainment_batches_do_not_depend_on_workers(
    client_1: Any, client_2: Any
) -> None:
    case = _quota_case()
    sizes = attainment_batch_sizes(5_000, 40, task_cells=40_000)
    assert len(sizes) == 5 and sum(sizes) == 5_000
    runs = [
        simulate_attainment_batches(
            **case, seed=4, n_scenarios=5_000, client=client, task_cells=40_000
        )
        for client in (None, client_1, client_2)
    ]
    for run in runs[1:]:
        assert run.share_quantiles() == runs[0].share_quantiles()
        assert run.p_attain.tolist() == runs[0].p_attain.tolist()
        assert run.mean_bookings.tolist() == runs[0].mean_bookings.tolist()
    exact = closed_form_p_attain(case["quota"], case["mean"], 0.3, "lognormal")
    error = np.sqrt(exact * (1 - exact) / 5_000)
    assert np.all(np.abs(runs[0].p_attain - exact) < 5 * error + 1e-9)


def test_one_attainment_batch_is_the_in_process_simulation() -> None:
    case = _quota_case()
    one = simulate_attainment_batches(**case, seed=9, n_scenarios=2_000)
    plain = simulate_attainment(**case, seed=9, n_scenarios=2_000)
    assert one.p_attain.tolist() == plain.p_attain.tolist()
    assert one.share_quantiles() == plain.share_quantiles()


# --- the commands ------------------------------------------------------------


def _cli(args: list[str]) -> int:
    return main([str(a) for a in args])


def test_payout_simulate_on_a_scheduler_writes_the_same_files(
    tmp_path: Path, client_2: Any
) -> None:
    data = yaml.safe_load(PAYOUT.read_text())
    for key in ("plan", "quotas"):
        data[key] = str(PAYOUT.parent / data[key])
    data.update(n_scenarios=4_000, chunk_elements=2_000, mlflow={"enabled": False})
    config = tmp_path / "simulate.yaml"
    config.write_text(yaml.safe_dump(data))
    local, remote = tmp_path / "local", tmp_path / "remote"
    assert _cli(["payout", "simulate", config, "--out", local]) == 0
    args = ["payout", "simulate", config, "--out", remote]
    assert _cli([*args, "--scheduler", _address(client_2)]) == 0
    _same_files(local, remote, skip=("summary.json", "plots.html"))
    a, b = (json.loads((r / "summary.json").read_text()) for r in (local, remote))
    assert a.pop("simulate_seconds") >= 0 and b.pop("simulate_seconds") >= 0
    assert a == b
    assert _headline(remote)["dask_workers"] == 2
    assert "dask_workers" not in _headline(local)


def test_quota_potential_on_a_scheduler_writes_the_same_files(
    tmp_path: Path, client_2: Any
) -> None:
    config = tmp_path / "potential.yaml"
    config.write_text(
        yaml.safe_dump({"lightgbm": {"n_estimators": 30}, "track": False})
    )
    local, remote = tmp_path / "local", tmp_path / "remote"
    assert _cli(["quota", "potential", config, "--out", local]) == 0
    args = ["quota", "potential", config, "--out", remote]
    assert _cli([*args, "--scheduler", _address(client_2)]) == 0
    _same_files(local, remote)
    assert _headline(remote)["dask_workers"] == 2
    assert "dask_workers" not in _headline(local)


def _quota_config(tmp_path: Path, **extra: Any) -> Path:
    data = yaml.safe_load(QUOTA.read_text())
    data["reps"] = str(QUOTA.parent / data["reps"])
    data.pop("phasing")
    data.update(extra)
    path = tmp_path / "quota.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_quota_set_reads_the_environment_and_the_config_key(
    tmp_path: Path, client_1: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    address = _address(client_1)
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    plain = _quota_config(tmp_path / "a")
    keyed = _quota_config(
        tmp_path / "b", scheduler={"mode": "address", "address": address}
    )
    runs = {name: tmp_path / name for name in ("local", "env", "key", "cli")}
    assert _cli(["quota", "set", plain, "--out", runs["local"]]) == 0
    assert _cli(["quota", "set", keyed, "--out", runs["key"]]) == 0
    cli_none = ["--out", runs["cli"], "--scheduler", "none"]
    assert _cli(["quota", "set", keyed, *cli_none]) == 0
    monkeypatch.setenv(SCHEDULER_ENV, address)
    assert _cli(["quota", "set", plain, "--out", runs["env"]]) == 0
    for name in ("env", "key", "cli"):
        _same_files(runs["local"], runs[name], skip=("summary.json",))
    assert _headline(runs["env"])["dask_workers"] == 1
    assert _headline(runs["key"])["dask_workers"] == 1
    assert "dask_workers" not in _headline(runs["cli"])


@pytest.mark.parametrize(
    ("job", "config"),
    [
        (["payout", "simulate"], PAYOUT),
        (["quota", "set"], QUOTA),
        (["quota", "potential"], POTENTIAL),
        (["forecast", "train"], REPO / "configs" / "forecast" / "ibm.yaml"),
        (
            ["forecast", "score", "--model", "m@champion", "--input", PAYOUT],
            REPO / "configs" / "forecast" / "ibm.yaml",
        ),
    ],
)
@pytest.mark.parametrize("where", ["option", "environment", "config"])
def test_a_bad_scheduler_is_one_clear_error_and_no_folder(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    job: list[str],
    config: Path,
    where: str,
) -> None:
    out = tmp_path / "run"
    args = [*job, config, "--out", out]
    if where == "option":
        args += ["--scheduler", "warp:9"]
    elif where == "environment":
        monkeypatch.setenv(SCHEDULER_ENV, "warp:9")
    else:
        data = yaml.safe_load(config.read_text())
        data["scheduler"] = {"mode": "warp"}
        for key in ("reps", "quotas", "plan"):
            if isinstance(data.get(key), str) and not data[key].startswith("bundled"):
                data[key] = str(config.parent / data[key])
        args[len(job)] = tmp_path / "config.yaml"
        args[len(job)].write_text(yaml.safe_dump(data))
    assert _cli(args) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "Traceback" not in err
    assert {"option": "--scheduler", "environment": SCHEDULER_ENV}.get(
        where, "scheduler"
    ) in err
    assert not out.exists()


# --- forecast train ----------------------------------------------------------


def _deals(n: int = 3_000, seed: int = 0) -> pd.DataFrame:
    """Deals won more often with a high score and in the East (text table)."""
    rng = np.random.default_rng(seed)
    score = rng.normal(size=n)
    region = rng.choice(["East", "North", "South", "West"], size=n)
    effect = np.select([region == "East", region == "West"], [1.0, -1.0], 0.0)
    won = rng.random(n) < 1 / (1 + np.exp(-(1.5 * score + effect - 0.3)))
    return pd.DataFrame(
        {
            "deal": [f"D{i:05d}" for i in range(n)],
            "stage": np.where(won, "Won", "Lost"),
            "region": region,
            "score": np.round(score, 4).astype(str),
            "noise": np.round(rng.normal(size=n), 4).astype(str),
        }
    )


def _forecast_config(tmp_path: Path) -> Path:
    _deals().to_csv(tmp_path / "deals.csv", index=False)
    data = {
        "dataset": "synthetic",
        "table": str(tmp_path / "deals.csv"),
        "columns": {
            "deal_id": "deal",
            "outcome": "stage",
            "won_values": ["Won"],
            "lost_values": ["Lost"],
            "categorical": ["region"],
            "numeric": ["score", "noise"],
        },
        "split": {"kind": "grouped-random"},
        "model": {"max_rounds": 100, "early_stopping_rounds": 20},
    }
    path = tmp_path / "forecast.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def _mlflow_record(run_id: str) -> tuple[set[str], set[str]]:
    import mlflow

    run = mlflow.get_run(run_id)
    return set(run.data.params), set(run.data.metrics)


def test_forecast_train_on_a_scheduler_keeps_the_model_and_record(
    tmp_path: Path, client_2: Any
) -> None:
    from spmopt.forecast.lineage import load_forecaster

    config = _forecast_config(tmp_path)
    local, remote = tmp_path / "local", tmp_path / "remote"
    assert _cli(["forecast", "train", config, "--out", local]) == 0
    args = ["forecast", "train", config, "--out", remote]
    assert _cli([*args, "--scheduler", _address(client_2)]) == 0
    a, b = (json.loads((r / "metrics.json").read_text()) for r in (local, remote))
    assert set(a) == set(b) and set(a["models"]) == set(b["models"])
    auc_a, auc_b = a["models"]["lightgbm"]["auc"], b["models"]["lightgbm"]["auc"]
    assert auc_a > 0.75 and abs(auc_a - auc_b) < 0.01
    assert _mlflow_record(a["mlflow_run_id"]) == _mlflow_record(b["mlflow_run_id"])
    deals = _deals(200, seed=5)
    for metrics in (a, b):
        model = load_forecaster(metrics["mlflow_model_uri"])
        p = model.win_probability(deals)
        assert type(model.booster_model_.booster_).__name__ == "Booster"
        assert p.shape == (200,) and np.all((p >= 0) & (p <= 1))
    assert _headline(remote)["dask_workers"] == 2


def test_scoring_maps_over_partitions_with_the_same_probabilities(
    client_2: Any,
) -> None:
    from spmopt.forecast import WinForecaster
    from spmopt.scale.scoring import n_partitions, win_probability

    train, deals = _deals(1_500), _deals(500, seed=3)
    y = (train["stage"] == "Won").to_numpy(dtype=float)
    frame = train.assign(score=train["score"].astype(float))
    params = {"max_rounds": 40}
    model = WinForecaster(["region"], ["score"], params, "none").fit(frame, y)
    deals = deals.assign(score=deals["score"].astype(float))
    with client_scope(client_2):
        remote = win_probability(model, deals)
    assert remote.tolist() == model.win_probability(deals).tolist()
    assert n_partitions(500, 2) == 4 and n_partitions(10**6, 2) == 5
