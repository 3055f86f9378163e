"""Open the report in headless Chromium: it renders, offline, without errors.

The browser comes from the system package manager: when ``chromium`` is
missing and the tests run as root, ``apt-get install -y chromium`` installs
it; the test is skipped, saying why, only when that is not possible.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from spmopt.report import build_report
from tests.report.standalone_runs import (
    STANDALONE,
    SWEEP_DISRUPTION,
    SWEEP_PLANS,
    write_files,
)

FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
CONSOLE = re.compile(r":CONSOLE:?\(?\d*\)?\] (.*)")


def _install_chromium() -> str | None:
    """Path of chromium, installing the Debian package when root."""
    found = shutil.which("chromium")
    if found or os.geteuid() != 0 or shutil.which("apt-get") is None:
        return found
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "chromium"]
    # A new machine may have no package lists yet: refresh them once.
    for commands in ([install], [["apt-get", "update"], install]):
        try:
            for command in commands:
                subprocess.run(
                    command, env=env, capture_output=True, timeout=600, check=True
                )
        except (subprocess.SubprocessError, OSError):
            continue
        break
    return shutil.which("chromium")


@pytest.fixture(scope="module")
def chromium() -> str:
    """The chromium executable, or a skip saying why there is none."""
    path = _install_chromium()
    if path is None:
        reason = "chromium is not installed"
        if os.geteuid() != 0:
            reason += " and the tests do not run as root to apt-get install it"
        else:
            reason += " and 'apt-get install -y chromium' failed"
        pytest.skip(reason)
    return path


def _run(chromium: str, profile: Path, *args: str) -> subprocess.CompletedProcess:
    command = [chromium, *FLAGS, f"--user-data-dir={profile}", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=120)


def _figure_rendered(dom: str, div_id: str) -> bool:
    start = dom.find(f'id="{div_id}"')
    if start < 0:
        return False
    end = dom.find('class="figure"', start)
    return 'class="main-svg"' in dom[start : end if end > 0 else None]


def _open(chromium: str, run: Path, tmp_path: Path) -> str:
    """The rendered DOM of ``run``'s report; checks console and screenshot."""
    report = build_report(run)
    shot = tmp_path / "report.png"
    page = _run(
        chromium, tmp_path / "profile", "--enable-logging=stderr", "--v=0",
        "--hide-scrollbars", "--window-size=1000,2400",
        "--virtual-time-budget=10000", f"--screenshot={shot}", "--dump-dom",
        report.resolve().as_uri(),
    )  # fmt: skip
    assert page.returncode == 0, page.stderr[-2000:]
    console = [m.group(1) for m in CONSOLE.finditer(page.stderr)]
    assert console == [], console
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert shot.stat().st_size > 10_000
    return page.stdout


def _not_drawn(dom: str) -> list[str]:
    figure_ids = re.findall(r'data-figure="([^"]+)"', dom)
    return [fid for fid in figure_ids if not _figure_rendered(dom, fid)]


CHAIN = [
    "overview", "territory", "forecast_ibm", "forecast_maven",
    "quota", "payout", "compare", "analytics",
]  # fmt: skip


def test_report_renders_without_console_errors(
    chromium: str, full_run: Path, tmp_path: Path
) -> None:
    dom = _open(chromium, full_run, tmp_path)
    assert re.findall(r'<section id="([^"]+)"', dom) == CHAIN
    assert len(re.findall(r'data-figure="([^"]+)"', dom)) == 19
    assert _not_drawn(dom) == []
    assert "Quotas by period" in dom


STANDALONE_FIGURES = {
    "pareto-tradeoff", "score-probability", "capacity-headcount",
    "capacity-hires", "capacity-bookings", "potential-importance",
    "whatif-difference",
}  # fmt: skip


@pytest.mark.parametrize(
    ("sweep", "sweep_figure"),
    [(SWEEP_PLANS, "sweep-percentiles"), (SWEEP_DISRUPTION, "sweep-objective")],
)
def test_stand_alone_sections_render(
    chromium: str,
    full_run: Path,
    tmp_path: Path,
    sweep: dict[str, str],
    sweep_figure: str,
) -> None:
    for key, files in {**STANDALONE, "sweep": sweep}.items():
        write_files(full_run / key, files)
    dom = _open(chromium, full_run, tmp_path)
    sections = re.findall(r'<section id="([^"]+)"', dom)
    assert sections == [*CHAIN, *STANDALONE, "sweep"]
    figure_ids = set(re.findall(r'data-figure="([^"]+)"', dom))
    assert STANDALONE_FIGURES | {sweep_figure} <= figure_ids
    assert _not_drawn(dom) == []
    assert "Could not draw" not in dom
