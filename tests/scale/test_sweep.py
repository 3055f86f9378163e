import math
import os
import time
from pathlib import Path
from typing import Any

import pytest

from spmopt.errors import ConfigError, InfeasibleError
from spmopt.scale import SweepTask, run_sweep
from spmopt.scale.sweep import run_task


def solve_with_limit(size: int, time_limit_seconds: float) -> dict[str, float]:
    """Stands for a solver that honours the limit it is given."""
    return {"size": size, "limit": time_limit_seconds}


def root(x: float) -> float:
    return math.sqrt(x)


def power(x: float, y: float) -> float:
    return float(x**y)


def divide(a: float, b: float) -> float:
    return a / b


def nap(seconds: float) -> float:
    time.sleep(seconds)
    return seconds


def mixed_tasks() -> list[SweepTask]:
    return [
        SweepTask("sqrt", root, {"x": 16.0}),
        SweepTask("divide-by-zero", divide, {"a": 1, "b": 0}),
        SweepTask(
            "slow", nap, {"seconds": 5.0}, time_limit_seconds=0.2, grace_seconds=0.1
        ),
        SweepTask("limit-passed", solve_with_limit, {"size": 3}, time_limit_seconds=9),
        SweepTask("pow", power, {"x": 2.0, "y": 10.0}),
    ]


def check_outcomes(result: Any) -> None:
    status = {o.key: o.status for o in result.outcomes}
    assert [o.key for o in result.outcomes] == [t.key for t in mixed_tasks()]
    assert status == {
        "sqrt": "ok",
        "divide-by-zero": "error",
        "slow": "timeout",
        "limit-passed": "ok",
        "pow": "ok",
    }
    assert result.values == {
        "sqrt": 4.0,
        "limit-passed": {"size": 3, "limit": 9},
        "pow": 1024.0,
    }
    errors = {o.key: o.error for o in result.failures}
    assert errors["divide-by-zero"].startswith("ZeroDivisionError:")
    assert "0.2 s (+0.1 s grace)" in errors["slow"]


def test_failures_are_reported_and_others_kept_in_process() -> None:
    check_outcomes(run_sweep(mixed_tasks()))


def test_failures_are_reported_and_others_kept_on_a_cluster(client_2: Any) -> None:
    result = run_sweep(mixed_tasks(), client=client_2)
    check_outcomes(result)
    assert result.n_workers == 2


def test_cluster_and_in_process_give_the_same_table(client_1: Any) -> None:
    frame = run_sweep(mixed_tasks(), client=client_1).to_frame()
    assert frame.equals(run_sweep(mixed_tasks()).to_frame())
    assert list(frame.columns) == ["key", "status", "error"]


def test_unpicklable_task_is_an_error_not_a_crash(client_1: Any) -> None:
    lock_holder = SweepTask("lock", root, {"x": __import__("threading").Lock()})
    result = run_sweep([lock_holder, SweepTask("fine", root, {"x": 9.0})], client_1)
    assert result.outcomes[0].status == "error"
    assert result.values == {"fine": 3.0}


def test_task_within_its_limit_is_ok_and_overrun_is_timeout() -> None:
    assert run_task(SweepTask("quick", nap, {"seconds": 0.0}, 5.0)).ok
    outcome = run_task(SweepTask("slow", nap, {"seconds": 3.0}, 0.1, 0.0))
    assert (outcome.status, outcome.value) == ("timeout", None)


def test_duplicate_keys_are_refused() -> None:
    tasks = [SweepTask("a", root, {"x": 1.0})] * 2
    with pytest.raises(ConfigError, match=r"unique.*'a'"):
        run_sweep(tasks)


def stubborn(pid_file: str, seconds: float) -> float:
    """Ignores any time limit: records its process id, then sleeps."""
    Path(pid_file).write_text(str(os.getpid()))
    time.sleep(seconds)
    return seconds


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


@pytest.mark.parametrize("where", ["in process", "on a cluster"])
def test_a_task_that_ignores_its_limit_is_stopped(
    tmp_path: Path, client_1: Any, where: str
) -> None:
    pid_file = tmp_path / "pid"
    args = {"pid_file": str(pid_file), "seconds": 60.0}
    tasks = [  # the first starts the process server, the others are quick
        SweepTask("first", root, {"x": 1.0}, time_limit_seconds=30),
        SweepTask("stubborn", stubborn, args, time_limit_seconds=1, grace_seconds=1),
        SweepTask("after", root, {"x": 4.0}, time_limit_seconds=30),
    ]
    result = run_sweep(tasks, client_1 if where == "on a cluster" else None)
    assert [o.status for o in result.outcomes] == ["ok", "timeout", "ok"]
    assert "process was stopped" in result.outcomes[1].error
    assert result.values == {"first": 1.0, "after": 2.0}
    pid = int(pid_file.read_text())
    assert pid != os.getpid() and _gone(pid)


def test_a_task_whose_process_dies_is_an_error() -> None:
    outcome = run_task(
        SweepTask("exit", os._exit, {"status": 3}, time_limit_seconds=30)
    )
    assert outcome.status == "error" and "exit code 3" in outcome.error


def infeasible(x: float) -> float:
    raise InfeasibleError(f"no alignment at budget {x}: at least 15% must move")


def test_a_user_error_is_its_message_and_a_bug_keeps_its_type() -> None:
    tasks = [
        SweepTask("tight", infeasible, {"x": 0.05}),
        SweepTask("zero", divide, {"a": 1.0, "b": 0.0}),
    ]
    errors = {o.key: o.error for o in run_sweep(tasks).failures}
    assert errors["tight"] == "no alignment at budget 0.05: at least 15% must move"
    assert errors["zero"].startswith("ZeroDivisionError: ")
