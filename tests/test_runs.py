import json
import os
import shutil
import signal
import stat
import tempfile
from pathlib import Path

import pandas as pd
import pytest

from spmopt.errors import ConfigError, SpmoptWarning
from spmopt.runs import (
    SEED_MAX,
    RunDir,
    check_seed,
    deferred_signals,
    discard_open_runs,
    format_money,
    neutralise_for_spreadsheet,
    note_interrupt,
    on_signal,
    published,
    run_signal_callbacks,
    signal_scope,
)


def test_run_publishes_files_and_manifest(tmp_path: Path) -> None:
    out = tmp_path / "runs" / "run"
    with RunDir(out, "unit", config={"a": 1}, seed=7) as run:
        run.write_csv("t.csv", pd.DataFrame({"x": [1, 2]}))
        run.view("sub").write_json("s.json", {"b": float("nan")})
        run.headline["rows"] = 2
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["seed"] == 7
    assert manifest["headline"] == {"rows": 2}
    assert set(manifest["files"]) == {"t.csv", "sub/s.json"}
    assert json.loads((out / "sub" / "s.json").read_text()) == {"b": None}
    assert [p.name for p in out.parent.iterdir()] == ["run"]


def test_failed_run_leaves_nothing_and_keeps_previous(tmp_path: Path) -> None:
    out = tmp_path / "runs" / "run"
    with RunDir(out, "unit") as run:
        run.write_text("keep.txt", "old")
    with pytest.raises(ValueError), RunDir(out, "unit") as run:
        run.write_text("new.txt", "half")
        raise ValueError("boom")
    assert (out / "keep.txt").read_text() == "old"
    assert not (out / "new.txt").exists()
    assert [p.name for p in out.parent.iterdir()] == ["run"]


def test_spreadsheet_cells_are_neutralised() -> None:
    frame = pd.DataFrame({"name": ["=cmd()", "+1", "-x", "@a", "ok"], "v": [-1] * 5})
    safe = neutralise_for_spreadsheet(frame)
    assert safe["name"].tolist() == ["'=cmd()", "'+1", "'-x", "'@a", "ok"]
    assert safe["v"].tolist() == [-1] * 5


def test_money_columns_are_written_with_fixed_decimals(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {
            "rep": ["A", "B", "C", "D"],
            "quota": [1696000.0, 1234567.8900000001, -2273.68, float("nan")],
            "rate": [0.5, 0.25, 1.0, 2.0],
        }
    )
    with RunDir(tmp_path / "run", "unit") as run:
        run.write_csv("m.csv", frame, money=["quota"])
        run.view("sub").write_csv("c.csv", frame.iloc[:1], money=["quota"], decimals=0)
    lines = (tmp_path / "run" / "m.csv").read_text().splitlines()
    assert lines[1:] == [
        "A,1696000.00,0.5",
        "B,1234567.89,0.25",
        "C,-2273.68,1.0",
        "D,,2.0",
    ]
    text = (tmp_path / "run" / "sub" / "c.csv").read_text()
    assert text == "rep,quota,rate\nA,1696000,0.5\n"
    assert format_money(frame, ["quota"])["quota"].tolist()[2] == "-2273.68"
    assert format_money(pd.DataFrame({"x": [-0.0]}), ["x"])["x"].tolist() == ["0.00"]
    exact = pd.DataFrame({"x": [4800.0, 4210.52632, -0.5, 1.23456789]})
    assert format_money(exact, ["x"], 2, 5)["x"].tolist() == [
        "4800.00",
        "4210.52632",
        "-0.50",
        "1.23457",
    ]


def test_outputs_follow_the_umask(tmp_path: Path) -> None:
    out = tmp_path / "run"
    with RunDir(out, "unit") as run:
        run.write_text("a.txt", "x")
    mask = os.umask(0o022)
    os.umask(mask)
    assert stat.S_IMODE((out / "a.txt").stat().st_mode) == 0o666 & ~mask
    assert stat.S_IMODE(out.stat().st_mode) == 0o777 & ~mask


def test_refuses_to_replace_a_folder_it_did_not_write(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("important")
    with pytest.raises(ConfigError, match="did not write"), RunDir(tmp_path, "unit"):
        pass
    assert (tmp_path / "notes.txt").read_text() == "important"


def test_current_folder_refused_empty_and_earlier_run_accepted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    for out in (".", ".."):
        with pytest.raises(ConfigError, match="current folder"), RunDir(out, "unit"):
            pass
    empty = tmp_path / "empty"
    empty.mkdir()
    with RunDir("empty", "unit") as run:
        run.write_text("a.txt", "1")
    with RunDir("empty", "unit") as run:  # now an earlier run's folder
        run.write_text("b.txt", "2")
    assert sorted(p.name for p in empty.iterdir()) == ["b.txt", "manifest.json"]


def test_bad_out_parent_and_negative_seed(tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("x")
    bad = tmp_path / "afile" / "sub"
    with (
        pytest.raises(ConfigError, match=r"afile is a file, not a folder$"),
        RunDir(bad, "unit"),
    ):
        pass
    with pytest.raises(ConfigError, match="--seed must be a whole number from 0 to"):
        RunDir(tmp_path / "r", "unit", seed=-1)


@pytest.mark.parametrize("seed", [-1, SEED_MAX + 1, 10**30, True, 1.5])
def test_a_seed_out_of_range_names_the_allowed_range(seed: object) -> None:
    with pytest.raises(ConfigError) as caught:
        check_seed(seed)  # type: ignore[arg-type]
    assert str(caught.value) == (
        f"--seed must be a whole number from 0 to 2147483647, got {seed!r}"
    )


def test_seeds_at_both_ends_of_the_range_are_kept() -> None:
    assert check_seed(0) == 0 and check_seed(SEED_MAX) == 2**31 - 1


def test_runs_with_one_default_name_get_distinct_folders(tmp_path: Path) -> None:
    out = tmp_path / "runs" / "20270101-000000-job"
    for text in ("first", "second", "third"):
        with RunDir(out, "job", unique=True) as run:
            run.write_text("a.txt", text)
    names = ["20270101-000000-job", "20270101-000000-job-2", "20270101-000000-job-3"]
    assert sorted(p.name for p in out.parent.iterdir()) == names
    texts = [(out.parent / name / "a.txt").read_text() for name in names]
    assert texts == ["first", "second", "third"]
    assert run.out == out.parent / names[-1] and published()[-1] == run.out


def test_a_name_claimed_while_a_run_works_is_left_to_its_claimant(
    tmp_path: Path,
) -> None:
    out = tmp_path / "runs" / "run"
    with RunDir(out, "job", unique=True) as run:
        run.write_text("a.txt", "mine")
        out.mkdir()  # another run published (or claimed) the name meanwhile
        (out / "theirs.txt").write_text("theirs")
    assert (out / "theirs.txt").read_text() == "theirs"
    assert (out.parent / "run-2" / "a.txt").read_text() == "mine"
    assert sorted(p.name for p in out.parent.iterdir()) == ["run", "run-2"]


def _earlier_run(out: Path) -> None:
    with RunDir(out, "job") as run:
        run.write_text("a.txt", "earlier")


def test_an_earlier_run_that_cannot_be_moved_stays_intact(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "runs" / "run"
    _earlier_run(out)
    real = os.replace

    def refuse_moving_out(src: object, dst: object) -> None:
        if Path(str(src)) == out:
            raise PermissionError(1, "Operation not permitted", str(src))
        real(src, dst)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "replace", refuse_moving_out)
    with pytest.raises(ConfigError) as caught, RunDir(out, "job") as run:
        run.write_text("a.txt", "new")
    message = str(caught.value)
    assert message.startswith(f"--out {out}: cannot replace the earlier run")
    assert "(operation not permitted)" in message and "another --out" in message
    assert (out / "a.txt").read_text() == "earlier"
    assert sorted(p.name for p in out.parent.iterdir()) == ["run"]


def test_a_new_run_that_cannot_take_the_place_puts_the_earlier_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "runs" / "run"
    _earlier_run(out)
    real = os.replace

    def refuse_moving_in(src: object, dst: object) -> None:
        if Path(str(dst)) == out and ".partial-" in str(src):
            raise OSError(16, "Device or resource busy", str(dst))
        real(src, dst)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "replace", refuse_moving_in)
    busy = pytest.raises(ConfigError, match=r"\(device or resource busy\)")
    with busy, RunDir(out, "job") as run:
        run.write_text("a.txt", "new")
    assert (out / "a.txt").read_text() == "earlier"
    assert sorted(p.name for p in out.parent.iterdir()) == ["run"]


def test_an_undeletable_file_of_the_replaced_run_is_named_in_a_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "runs" / "run"
    _earlier_run(out)
    real = os.unlink

    def refuse(path: object, *args: object, **kwargs: object) -> None:
        if str(path) == "a.txt" or str(path).endswith(f"old-{os.getpid()}-0/a.txt"):
            raise PermissionError(13, "Permission denied", str(path))
        real(path, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "unlink", refuse)
    with pytest.warns(SpmoptWarning) as caught, RunDir(out, "job") as run:
        run.write_text("b.txt", "new")
    aside = out.parent / f".run.old-{os.getpid()}-0"
    assert aside.is_dir() and (aside / "a.txt").read_text() == "earlier"
    message = str(caught[0].message)
    assert f"earlier run's copy {aside} could not be fully deleted" in message
    assert "a.txt (permission denied)" in message and "delete it by hand" in message
    assert (out / "b.txt").read_text() == "new"


def test_an_interrupt_a_library_swallowed_publishes_nothing(tmp_path: Path) -> None:
    out = tmp_path / "run"
    with (
        pytest.raises(KeyboardInterrupt, match="nothing was published"),
        RunDir(out, "job") as run,
    ):
        run.write_text("a.txt", "half done")
        note_interrupt()  # the signal arrived; the library carried on
    assert not out.exists()
    assert not [p for p in tmp_path.iterdir() if ".partial-" in p.name]
    with RunDir(out, "job") as run:  # the next run publishes as usual
        run.write_text("a.txt", "done")
    assert (out / "a.txt").read_text() == "done"


def test_a_file_added_to_an_earlier_run_is_never_deleted(tmp_path: Path) -> None:
    out = tmp_path / "run"
    with RunDir(out, "job") as run:
        run.write_text("a.txt", "first")
    (out / "my_analysis.xlsx").write_text("mine")
    with (
        pytest.raises(ConfigError, match=r"1 file\(s\).*my_analysis.xlsx"),
        RunDir(out, "job") as run,
    ):
        run.write_text("a.txt", "second")
    assert (out / "my_analysis.xlsx").read_text() == "mine"
    assert (out / "a.txt").read_text() == "first"


def _ctrl_c() -> None:
    """Send this process Ctrl-C (SIGINT), as a terminal would."""
    os.kill(os.getpid(), signal.SIGINT)


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def test_ctrl_c_inside_publish_completes_it_then_interrupts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = RunDir._publish

    def publish_with_ctrl_c(self: RunDir, tmp: Path) -> None:
        _ctrl_c()
        real(self, tmp)

    monkeypatch.setattr(RunDir, "_publish", publish_with_ctrl_c)
    out = tmp_path / "run"
    with pytest.raises(KeyboardInterrupt), RunDir(out, "job") as run:
        run.write_text("a.txt", "done")
    assert (out / "a.txt").read_text() == "done"
    assert (out / "manifest.json").is_file()
    assert published()[-1] == out
    assert _leftovers(tmp_path) == []


def test_ctrl_c_inside_cleanup_still_removes_everything(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = shutil.rmtree

    def rmtree_with_ctrl_c(path: Path, **kwargs: object) -> None:
        _ctrl_c()
        real(path, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr("spmopt.runs.shutil.rmtree", rmtree_with_ctrl_c)
    out = tmp_path / "new" / "deeper" / "run"
    with pytest.raises(KeyboardInterrupt), RunDir(out, "job") as run:
        run.write_text("quotas.csv", "half")
        raise KeyboardInterrupt
    assert not (tmp_path / "new").exists()  # parents made for the run are gone


def test_failed_run_removes_the_parent_folders_it_made(tmp_path: Path) -> None:
    (tmp_path / "kept").mkdir()
    out = tmp_path / "kept" / "runs" / "a" / "run"
    with pytest.raises(ValueError), RunDir(out, "job"):
        raise ValueError("boom")
    assert (tmp_path / "kept").is_dir()
    assert list((tmp_path / "kept").iterdir()) == []


def test_discard_open_runs_removes_an_abandoned_partial(tmp_path: Path) -> None:
    run = RunDir(tmp_path / "runs" / "run", "job").__enter__()
    run.write_text("a.txt", "half")
    discard_open_runs()
    assert not (tmp_path / "runs").exists()


def test_success_removes_stale_partials_of_ended_processes(tmp_path: Path) -> None:
    out = tmp_path / "run"
    stale = [
        tmp_path / ".run.partial-abcd1234",
        tmp_path / ".run.partial-999999999-x_1",
    ]
    live = tmp_path / f".run.partial-{os.getpid()}-zz"
    other = tmp_path / ".other.partial-abcd"
    for folder in (*stale, live, other):
        folder.mkdir()
        (folder / "quotas.csv").write_text("half")
    with RunDir(out, "job") as run:
        run.write_text("a.txt", "done")
    assert _leftovers(tmp_path) == sorted([live.name, other.name])


def test_an_unwritable_out_folder_is_one_error_and_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refused(**kwargs: object) -> str:
        raise PermissionError(1, "Operation not permitted", str(kwargs["dir"]))

    monkeypatch.setattr(tempfile, "mkdtemp", refused)
    out = tmp_path / "new" / "deeper" / "run"
    with pytest.raises(ConfigError) as caught:
        RunDir(out, "unit").__enter__()
    assert str(caught.value) == (
        f"--out {out}: cannot write in {out.parent} (operation not permitted)"
    )
    assert not (tmp_path / "new").exists()  # the parents it made are gone


def test_a_held_signal_replaces_the_error_of_its_block() -> None:
    with pytest.raises(KeyboardInterrupt), deferred_signals():
        os.kill(os.getpid(), signal.SIGINT)
        raise ValueError("the block failed after Ctrl-C")
    with deferred_signals():  # nothing held over from the block before
        pass


def test_the_first_held_signal_calls_on_signal_and_a_second_raises() -> None:
    called: list[str] = []
    with (
        pytest.raises(KeyboardInterrupt),
        deferred_signals(second_raises=True, on_signal=lambda: called.append("x")),
    ):
        os.kill(os.getpid(), signal.SIGINT)
        assert called == ["x"]  # held, not raised
        os.kill(os.getpid(), signal.SIGINT)
        called.append("not reached")
    assert called == ["x"]


def test_signal_callbacks_belong_to_the_scope_they_were_opened_in() -> None:
    called: list[str] = []
    with on_signal(lambda: called.append("outer")):
        with signal_scope(), on_signal(lambda: called.append("inner")):
            run_signal_callbacks()
        run_signal_callbacks()
    run_signal_callbacks()
    assert called == ["inner", "outer"]


def test_a_failing_signal_callback_does_not_stop_the_others() -> None:
    called: list[str] = []

    def broken() -> None:
        raise RuntimeError("a callback's own failure")

    with on_signal(lambda: called.append("first")), on_signal(broken):
        run_signal_callbacks()
    assert called == ["first"]


def test_replacing_a_run_of_another_job_says_so(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    out = tmp_path / "run"
    with RunDir(out, "quota-set") as run:
        run.write_text("a.txt", "quotas")
    with caplog.at_level("INFO", logger="spmopt"), RunDir(out, "quota-set") as run:
        run.write_text("a.txt", "quotas again")
    assert "replaced an earlier" not in caplog.text  # same job: the usual rerun
    with RunDir(out, "territory-solve") as run:
        run.write_text("b.txt", "alignment")
    assert "territory-solve: replaced an earlier quota-set run in" in caplog.text
    assert sorted(p.name for p in out.iterdir()) == ["b.txt", "manifest.json"]
