"""The CLI status line: shown on a terminal only, and never when quiet."""

import io
import logging
import time
from pathlib import Path

import pytest

from spmopt._logging import logger
from spmopt.clikit import bundled_inputs, echo_headline, status_ticker
from spmopt.config import Config
from spmopt.data import bundled_files


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture
def info_level():
    previous = logger.level
    logger.setLevel(logging.INFO)
    yield
    logger.setLevel(previous)


def test_ticker_writes_on_a_terminal(info_level: None) -> None:
    stream = _Terminal()
    with status_ticker("territory-solve", every=0.01, stream=stream):
        time.sleep(0.1)
    text = stream.getvalue()
    assert "territory-solve: running" in text
    assert text.endswith("\r\033[K")


def test_ticker_is_silent_off_a_terminal(info_level: None) -> None:
    stream = io.StringIO()
    with status_ticker("job", every=0.01, stream=stream):
        time.sleep(0.05)
    assert stream.getvalue() == ""


def test_ticker_is_silent_when_quiet() -> None:
    previous = logger.level
    logger.setLevel(logging.WARNING)
    try:
        stream = _Terminal()
        with status_ticker("job", every=0.01, stream=stream):
            time.sleep(0.05)
    finally:
        logger.setLevel(previous)
    assert stream.getvalue() == ""


def test_bundled_tables_are_hashed_by_their_files() -> None:
    class Tables(Config):
        tables: list[str]

    cfg = Tables(tables=["bundled:ibm_win_loss", "deals.csv"])
    inputs = bundled_inputs(cfg)
    (label,) = inputs
    assert label == "bundled:ibm_win_loss (ibm_win_loss/sales_win_loss.csv.gz)"
    assert inputs[label].is_file()


def test_counties_are_hashed_by_every_file_they_join() -> None:
    files = bundled_files("bundled:us_counties")
    assert len(files) == 3 and all(path.is_file() for path in files.values())
    assert bundled_files("bundled:nope") == {} == bundled_files("counties.csv")


def test_spmopt_warnings_are_logged_as_kind_and_message(capsys) -> None:  # type: ignore[no-untyped-def]
    import warnings

    from spmopt.clikit import setup_logging
    from spmopt.errors import LeakageWarning

    handlers = list(logging.getLogger("py.warnings").handlers)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("always")
            logging.captureWarnings(False)  # as in a fresh process
            setup_logging()
            warnings.warn("column 'x' dropped", LeakageWarning, stacklevel=1)
            warnings.warn("something else", UserWarning, stacklevel=1)
            logging.captureWarnings(False)
    finally:
        logging.getLogger("py.warnings").handlers = handlers
    err = capsys.readouterr().err.splitlines()
    assert "WARNING py.warnings: LeakageWarning: column 'x' dropped" in err
    assert any(line.endswith("UserWarning: something else") for line in err)
    assert any("test_clikit.py" in line for line in err)  # others keep their place


def test_headline_amounts_are_shown_in_full_not_in_e_notation(capsys) -> None:  # type: ignore[no-untyped-def]
    from pathlib import Path

    figures = {"target": 14250000.0, "cost": -480534.157, "share": 0.64213, "n": 12}
    echo_headline(Path("runs/q"), figures)
    assert capsys.readouterr().out.splitlines()[1:] == [
        "  target: 14,250,000.00",
        "  cost: -480,534.16",
        "  share: 0.6421",
        "  n: 12",
    ]


def test_unknown_log_level_is_one_error_line(capsys) -> None:  # type: ignore[no-untyped-def]
    from spmopt.cli import main

    assert main(["--log-level", "LOUD", "version"]) == 2
    assert capsys.readouterr().err == (
        "error: --log-level must be one of DEBUG, INFO, WARNING, ERROR, got 'LOUD'\n"
    )
    assert main(["--log-level", "debug", "version"]) == 0


def test_demo_summary_prints_amounts_in_full(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from spmopt.demo import _echo_summary

    _echo_summary(tmp_path, {"payout.cost_mean": 461_300.0, "share": 0.6421}, "r.html")
    out = capsys.readouterr().out
    assert "payout.cost_mean: 461,300.00" in out  # not 4.613e+05
    assert "share: 0.6421" in out
