import os
import signal
import subprocess
import sys
from datetime import datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest

from spmopt import __version__
from spmopt.cli import main
from spmopt.runs import RunDir, RunWriter, note_interrupt

SMALL_TEAM = Path(__file__).parent.parent / "configs" / "quota" / "small_team.yaml"


class _FrozenClock(datetime):
    """``datetime`` whose ``now()`` is always 2027-01-02 03:04:05."""

    @classmethod
    def now(cls, tz: Any = None) -> "_FrozenClock":
        return cls(2027, 1, 2, 3, 4, 5, tzinfo=tz)


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["version"]) == 0
    assert capsys.readouterr().out == f"spmopt {__version__}\n"
    assert main(["--version"]) == 0
    assert capsys.readouterr().out == f"spmopt {__version__}\n"  # the same


@pytest.mark.parametrize("path", [[], ["territory", "solve"]])
def test_help_shows_no_type_for_on_off_flags(
    path: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*path, "--help"]) == 0
    shown = capsys.readouterr().out
    assert "--help" in shown and "<bool>" not in shown
    assert "<int>" in shown or "<str>" in shown  # options with values keep theirs


def test_version_option_prints_the_installed_version(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["--version"]) == 0
    assert capsys.readouterr().out == f"spmopt {metadata.version('spmopt')}\n"


def _commands(group: Any, path: list[str]) -> list[list[str]]:
    """Every command path below ``group`` (a click group), groups included."""
    found = [path]
    for name, command in getattr(group, "commands", {}).items():
        found += _commands(command, [*path, name])
    return found


def _every_command() -> list[list[str]]:
    import typer.main

    from spmopt.cli import app

    return _commands(typer.main.get_command(app), [])


@pytest.mark.parametrize("path", _every_command(), ids=" ".join)
def test_h_is_short_for_help_on_every_command(
    path: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*path, "-h"]) == 0
    shown = capsys.readouterr().out
    assert main([*path, "--help"]) == 0
    assert capsys.readouterr().out == shown
    assert f"Usage: {' '.join(['spmopt', *path])}" in " ".join(shown.split())


@pytest.mark.parametrize("seed", ["abc", "1.5", "", "1e3"])
def test_a_seed_that_is_not_a_number_names_the_allowed_range(
    seed: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["quota", "set", "a.yaml", "--seed", seed]) == 2
    err = capsys.readouterr().err
    assert err == (  # one line, like the one for a number out of range
        f"error: --seed must be a whole number from 0 to 2147483647, got {seed!r}\n"
    )


@pytest.mark.parametrize("seed", ["-1", "2147483648", "99999999999999999999999"])
def test_a_seed_out_of_range_is_refused_before_any_work(
    seed: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "runs" / "q"
    args = ["quota", "set", str(SMALL_TEAM), "--seed", seed, "--out", str(out)]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err == (
        f"error: --seed must be a whole number from 0 to 2147483647, got {seed}\n"
    )
    assert not (tmp_path / "runs").exists()


def test_runs_started_in_the_same_second_get_their_own_folders(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(
        "spmopt.runs.datetime", _FrozenClock, raising=True
    )  # every run starts at 2027-01-02 03:04:05
    for _ in range(3):
        assert main(["quota", "set", str(SMALL_TEAM)]) == 0
    shown = [
        line
        for line in capsys.readouterr().out.splitlines()
        if line.startswith("wrote")
    ]
    names = ["20270102-030405-quota-set", "20270102-030405-quota-set-2"]
    names.append("20270102-030405-quota-set-3")
    assert shown == [f"wrote {Path('runs') / name}" for name in names]
    assert sorted(p.name for p in (tmp_path / "runs").iterdir()) == names
    manifests = [tmp_path / "runs" / name / "manifest.json" for name in names]
    assert all(path.is_file() for path in manifests)


@pytest.mark.parametrize(
    ("reps", "problem"),
    [("nowhere.csv", "file not found: {path}"), ("afolder", "{path} is a folder")],
)
def test_a_missing_file_named_in_a_config_names_field_and_config(
    reps: str, problem: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "afolder").mkdir()
    config = tmp_path / "team.yaml"
    config.write_text(SMALL_TEAM.read_text().replace("reps_small.csv", reps))
    out = tmp_path / "runs" / "q"
    assert main(["quota", "set", str(config), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    detail = problem.format(path=tmp_path / reps)
    assert err == f"error: {config}: field 'reps': {detail}" + (
        ", not a file\n" if reps == "afolder" else "\n"
    )
    assert not (tmp_path / "runs").exists()


def test_a_folder_given_as_the_config_is_called_a_folder(
    capsys: pytest.CaptureFixture[str],
) -> None:
    folder = SMALL_TEAM.parent
    assert main(["quota", "set", str(folder)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: config file {folder} is a folder, not a file; ")
    assert "inside it: capacity_plan.yaml, " in err and len(err.splitlines()) == 1


UNREADABLE_CASES = [
    ["territory", "solve", "{f}"],
    ["territory", "pareto", "{f}"],
    ["forecast", "train", "{f}"],
    ["forecast", "score", "{f}", "--model", "m@champion", "--input", "{f}"],
    ["quota", "set", "{f}"],
    ["quota", "capacity", "{f}"],
    ["quota", "potential", "{f}"],
    ["payout", "simulate", "{f}"],
    ["payout", "calc", "--plan", "{f}", "--credits", "{f}", "--quotas", "{f}"],
    ["payout", "compare", "{f}", "{f}", "--config", "{f}"],
    ["analytics", "kpis", "{f}"],
    ["scale", "price", "{f}"],
    ["scale", "sweep-plans", "{f}"],
    ["scale", "sweep-disruption", "{f}", "--budgets", "0.1"],
]


@pytest.mark.parametrize("args", UNREADABLE_CASES, ids=lambda a: " ".join(a[:2]))
def test_an_unreadable_file_argument_is_one_error_line(
    args: list[str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    locked = tmp_path / "locked.yaml"
    locked.write_text("{}\n")
    real_access = os.access

    def access(path: Any, mode: int, *rest: Any, **kw: Any) -> bool:
        if Path(path).name == locked.name:  # as chmod 000 would for a non-root user
            return False
        return real_access(path, mode, *rest, **kw)

    monkeypatch.setattr(os, "access", access)
    out = tmp_path / "o"
    argv = [a.format(f=locked) for a in args] + ["--out", str(out)]
    if args[:2] == ["payout", "calc"]:
        argv = argv[:-2]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and err.startswith("error: ")
    assert "locked.yaml" in err and "Usage" not in err
    assert not out.exists()


def test_unknown_command_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["nope"]) == 2
    assert "No such command" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "command", "message"),
    [
        (["payout", "--bogus"], "spmopt payout", "No such option: --bogus"),
        (["payout", "calc"], "spmopt payout calc", "Missing option '--plan'."),
        (
            ["quota", "set", "--out", "x", "--budget", "a.yaml"],
            "spmopt quota set",
            "No such option: --budget",
        ),
        (
            ["payout", "compute"],
            "spmopt payout",
            "Commands: simulate, calc, explain, whatif, compare.",
        ),
    ],
)
def test_parse_error_is_usage_hint_and_one_plain_error_line(
    argv: list[str], command: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 3
    assert lines[0].startswith(f"Usage: {command} [OPTIONS]")
    assert lines[1] == f"Try '{command} --help' for help."
    assert lines[2].startswith("error: ") and message in lines[2]
    assert "\u256d" not in err and "\u2502" not in err  # no boxed panel


def test_group_without_command_shows_help_once(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["payout"]) == 2
    captured = capsys.readouterr()
    assert captured.out.count("Usage: spmopt payout") == 1
    assert "error" not in captured.err


@pytest.mark.parametrize(
    "group", ["territory", "forecast", "quota", "payout", "analytics"]
)
def test_every_job_group_lists_its_commands(
    group: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([group, "--help"]) == 0
    assert "Commands" in capsys.readouterr().out


def test_interrupt_is_one_line_and_exit_130(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def interrupted(**kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr("spmopt.cli.app", interrupted)
    assert main(["demo"]) == 130
    assert capsys.readouterr().err.strip() == (
        "error: interrupted (Ctrl-C); unfinished output removed"
    )


def test_ctrl_c_after_publishing_names_the_complete_run(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    out = tmp_path / "runs" / "done"

    def publish_then_interrupted(**kwargs: object) -> None:
        with RunDir(out, "job") as run:
            run.write_text("a.txt", "complete")
        raise KeyboardInterrupt

    monkeypatch.setattr("spmopt.cli.app", publish_then_interrupted)
    assert main(["demo"]) == 130
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err == (
        f"error: interrupted (Ctrl-C) after the run was written to {out}; "
        "that folder is complete"
    )
    assert (out / "a.txt").read_text() == "complete"


def test_ctrl_c_while_libraries_load_is_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def import_broken_by_ctrl_c(**kwargs: object) -> None:
        note_interrupt()
        raise ImportError("initialization failed")

    monkeypatch.setattr("spmopt.cli.app", import_broken_by_ctrl_c)
    assert main(["demo"]) == 130
    err = capsys.readouterr().err
    assert err.strip() == "error: interrupted (Ctrl-C); unfinished output removed"


def test_ctrl_c_before_main_took_over_is_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("spmopt.cli._EARLY", [signal.SIGINT])
    assert main(["version"]) == 130
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.strip().startswith("error: interrupted (Ctrl-C)")


def test_an_import_error_without_ctrl_c_is_not_hidden(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken(**kwargs: object) -> None:
        raise ImportError("no module named x")

    monkeypatch.setattr("spmopt.cli.app", broken)
    with pytest.raises(ImportError, match="no module named x"):
        main(["demo"])


_AFTER_CP_SAT = """
import os, signal, time
from ortools.sat.python import cp_model
from spmopt import cli
from spmopt._stoppable import solve_cp_sat

def app(**kwargs):
    model = cp_model.CpModel()
    x = model.new_int_var(0, 10, "x")
    model.maximize(x)
    solve_cp_sat(cp_model.CpSolver(), model)
    os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C after the solve
    time.sleep(5)
    print("not interrupted")

cli.app = app
raise SystemExit(cli.main(["x"]))
"""


def test_ctrl_c_after_a_cp_sat_solve_still_cleans_up(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", _AFTER_CP_SAT],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert done.returncode == 130  # not killed by the signal (-2)
    assert done.stdout == ""
    assert done.stderr.strip().splitlines()[-1] == (
        "error: interrupted (Ctrl-C); unfinished output removed"
    )


def test_sigterm_is_one_line_and_exit_143(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def terminated(**kwargs: object) -> None:
        raise SystemExit(128 + signal.SIGTERM)

    monkeypatch.setattr("spmopt.cli.app", terminated)
    assert main(["demo"]) == 143
    assert capsys.readouterr().err.strip() == (
        "error: terminated (SIGTERM); unfinished output removed"
    )


_DURING_CP_SAT = """
import os, random, signal, sys, threading
from ortools.sat.python import cp_model
from spmopt import cli
from spmopt._stoppable import solve_cp_sat

def app(**kwargs):
    rnd = random.Random(0)
    model = cp_model.CpModel()
    xs = [model.new_int_var(0, 50, f"x{i}") for i in range(300)]
    for _ in range(150):
        terms = rnd.sample(xs, 20)
        model.add(sum(rnd.randint(1, 9) * x for x in terms) <= rnd.randint(300, 900))
    model.maximize(sum(rnd.randint(1, 20) * x for x in xs))
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = 900  # far beyond the test's timeout
    solver.parameters.num_workers = 1
    sig = getattr(signal, sys.argv[1])
    threading.Timer(1.0, os.kill, (os.getpid(), sig)).start()
    solve_cp_sat(solver, model)
    print("not interrupted")

cli.app = app
raise SystemExit(cli.main(["x"]))
"""

_DURING_HIGHS = """
import os, random, signal, sys, threading
import highspy
import numpy as np
from spmopt import cli
from spmopt._highs import quiet_highs
from spmopt._stoppable import run_highs

def app(**kwargs):
    # a market-split MIP: 5 equality rows over 40 binaries, hard for B&B
    rnd = random.Random(0)
    m, n = 5, 40
    h = quiet_highs()
    h.setOptionValue("time_limit", 900.0)  # far beyond the test's timeout
    h.setOptionValue("threads", 1)
    for _ in range(n):
        h.addVar(0, 1)
    for _ in range(2 * m):
        h.addVar(0, highspy.kHighsInf)
    slack = np.arange(n, n + 2 * m, dtype=np.int32)
    h.changeColsCost(2 * m, slack, np.ones(2 * m))
    kinds = np.array([highspy.HighsVarType.kInteger] * n)
    h.changeColsIntegrality(n, np.arange(n, dtype=np.int32), kinds)
    for i in range(m):
        a = [rnd.randint(0, 99) for _ in range(n)]
        idx = np.array([*range(n), n + 2 * i, n + 2 * i + 1], dtype=np.int32)
        h.addRow(sum(a) // 2, sum(a) // 2, n + 2, idx, np.array([*a, 1.0, -1.0]))
    sig = getattr(signal, sys.argv[1])
    threading.Timer(1.0, os.kill, (os.getpid(), sig)).start()
    run_highs(h)
    print("not interrupted")

cli.app = app
raise SystemExit(cli.main(["x"]))
"""


@pytest.mark.parametrize(
    "program", [_DURING_CP_SAT, _DURING_HIGHS], ids=["cp_sat", "highs"]
)
@pytest.mark.parametrize(
    ("sig", "code", "line"),
    [("SIGINT", 130, "error: interrupted"), ("SIGTERM", 143, "error: terminated")],
)
def test_a_signal_stops_a_solve_in_progress(
    tmp_path: Path, program: str, sig: str, code: int, line: str
) -> None:
    done = subprocess.run(
        [sys.executable, "-c", program, sig],
        capture_output=True,
        text=True,
        timeout=120,  # the solve alone would run 900 s
        cwd=tmp_path,
    )
    assert done.returncode == code
    assert done.stdout == ""
    assert done.stderr.strip().splitlines()[-1].startswith(line)


def test_ctrl_c_while_a_job_writes_leaves_no_folder_at_all(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    real = RunWriter.write_csv

    def write_then_ctrl_c(
        self: RunWriter, name: str, frame: object, *args: object
    ) -> Path:
        path = real(self, name, frame, *args)  # type: ignore[arg-type]
        os.kill(os.getpid(), signal.SIGINT)
        return path

    monkeypatch.setattr(RunWriter, "write_csv", write_then_ctrl_c)
    config = Path(__file__).parent.parent / "configs" / "quota" / "small_team.yaml"
    out = tmp_path / "runs" / "q"
    assert main(["quota", "set", str(config), "--out", str(out)]) == 130
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1] == "error: interrupted (Ctrl-C); unfinished output removed"
    assert not (tmp_path / "runs").exists()  # no .partial, no empty parent


_DURING_SHUTDOWN = """
import atexit, os, signal, sys
sys.argv[0] = "spmopt"  # as the console script
from spmopt import cli

def app(**kwargs):
    print("summary")
    sig = getattr(signal, sys.argv[1])
    atexit.register(os.kill, os.getpid(), sig)  # a signal while Python shuts down

cli.app = app
cli._console()
"""


@pytest.mark.parametrize(
    ("sig", "code", "line"),
    [
        ("SIGINT", 130, "error: interrupted (Ctrl-C); unfinished output removed"),
        ("SIGTERM", 143, "error: terminated (SIGTERM); unfinished output removed"),
    ],
)
def test_a_signal_during_shutdown_still_sets_the_status(
    tmp_path: Path, sig: str, code: int, line: str
) -> None:
    done = subprocess.run(
        [sys.executable, "-c", _DURING_SHUTDOWN, sig],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert done.returncode == code  # a calling script stops, as for Ctrl-C
    assert done.stdout == "summary\n"
    assert done.stderr.strip().splitlines()[-1] == line


def test_a_missing_plan_file_names_the_option(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    payout = Path(__file__).resolve().parents[1] / "configs" / "payout"
    plan = tmp_path / "nosuch.yaml"
    args = ["payout", "calc", "--plan", str(plan)]
    args += ["--credits", str(payout / "credits_small.csv")]
    args += ["--quotas", str(payout / "quotas_small.csv")]
    assert main([*args, "--out", str(tmp_path / "out")]) == 2
    assert capsys.readouterr().err == f"error: --plan file not found: {plan}\n"
    assert not (tmp_path / "out").exists()
