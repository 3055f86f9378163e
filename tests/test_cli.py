import pytest

from spmopt import __version__
from spmopt.cli import main


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["version"]) == 0
    assert capsys.readouterr().out.strip() == __version__


def test_unknown_command_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["nope"]) == 2
    assert "No such command" in capsys.readouterr().err


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
