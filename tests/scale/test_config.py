from pathlib import Path

import pytest

from spmopt.config import Config, load_config
from spmopt.errors import ConfigError
from spmopt.scale import (
    SCHEDULER_ENV,
    SchedulerConfig,
    address_problem,
    parse_scheduler,
    resolve_scheduler,
)


class JobConfig(Config):
    scheduler: SchedulerConfig | None = None


def load(tmp_path: Path, text: str) -> JobConfig:
    path = tmp_path / "job.yaml"
    path.write_text(text)
    return load_config(JobConfig, path)


@pytest.mark.parametrize(
    ("text", "mode", "workers"),
    [
        ("none", "none", 2),
        ("in-process", "none", 2),
        ("local", "local", 2),
        ("local:1", "local", 1),
        ("LOCAL:3", "local", 3),
    ],
)
def test_parse_scheduler_forms(text: str, mode: str, workers: int) -> None:
    cfg = parse_scheduler(text)
    assert (cfg.mode, cfg.n_workers) == (mode, workers)


def test_parse_scheduler_address() -> None:
    cfg = parse_scheduler("tcp://127.0.0.1:8786")
    assert cfg.mode == "address"
    assert cfg.address == "tcp://127.0.0.1:8786"
    assert cfg.distributed


@pytest.mark.parametrize("text", ["cluster", "local:0", "local:x", "127.0.0.1:8786"])
def test_parse_scheduler_rejects_with_value_in_message(text: str) -> None:
    with pytest.raises(ConfigError, match="--scheduler") as info:
        parse_scheduler(text)
    assert repr(text) in str(info.value) or text in str(info.value)


def test_cli_value_beats_environment_beats_config() -> None:
    env = {SCHEDULER_ENV: "local:2"}
    configured = SchedulerConfig(mode="local", n_workers=3)
    assert resolve_scheduler(configured, "local:1", env).n_workers == 1
    assert resolve_scheduler(configured, "none", env).mode == "none"
    assert resolve_scheduler(configured, None, env).n_workers == 2
    assert resolve_scheduler(configured, None, {}).n_workers == 3
    assert resolve_scheduler(None, None, env).mode == "local"
    assert resolve_scheduler(None, None, {}).mode == "none"
    assert resolve_scheduler(configured, None, {SCHEDULER_ENV: " "}).n_workers == 3


def test_bad_environment_value_names_the_variable() -> None:
    with pytest.raises(ConfigError, match=SCHEDULER_ENV):
        resolve_scheduler(None, None, {SCHEDULER_ENV: "bogus"})


def test_default_is_in_process(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(SCHEDULER_ENV, raising=False)
    assert resolve_scheduler().mode == "none"
    assert not SchedulerConfig().distributed


def test_config_section_validates(tmp_path: Path) -> None:
    text = "scheduler: {mode: local, n_workers: 2, memory_limit: 1GiB}\n"
    cfg = load(tmp_path, text)
    assert cfg.scheduler is not None
    assert cfg.scheduler.memory_limit == "1GiB"


@pytest.mark.parametrize(
    ("text", "pattern"),
    [
        ("scheduler: {mode: cluster}", r"scheduler\.mode.*'none', 'local'"),
        ("scheduler: {mode: address}", r"needs an address"),
        ("scheduler: {mode: local, address: 'tcp://1.2.3.4:1'}", r"only used with"),
        ("scheduler: {n_workers: 0}", r"scheduler\.n_workers.*greater than"),
        ("scheduler: {memory_limit: lots}", r"memory_limit.*'lots'"),
        ("scheduler: {memory_limit: '-1GiB'}", r"memory_limit"),
        ("scheduler: {workers: 2}", r"unknown field 'scheduler\.workers'.*n_workers"),
    ],
)
def test_bad_sections_fail_at_load(tmp_path: Path, text: str, pattern: str) -> None:
    with pytest.raises(ConfigError, match=pattern):
        load(tmp_path, text + "\n")


def test_large_job_with_no_setting_gets_a_local_cluster() -> None:
    assert resolve_scheduler(None, None, {}, size=10**9).mode == "local"
    assert resolve_scheduler(None, None, {}, size=10**3).mode == "none"
    explicit = SchedulerConfig(mode="none")
    assert resolve_scheduler(explicit, None, {}, size=10**9).mode == "none"
    assert resolve_scheduler(None, "none", {}, size=10**9).mode == "none"


@pytest.mark.parametrize(
    ("address", "problem"),
    [
        ("tcp://127.0.0.1:8786", ""),
        ("tcp://[::1]:8786", ""),
        ("inproc://abc", ""),
        ("tcp://", "needs HOST:PORT"),
        ("tls://127.0.0.1", "needs HOST:PORT"),
        ("tcp://127.0.0.1:0", "port '0'"),
        ("tcp://127.0.0.1:65536", "port '65536'"),
        ("tcp://127.0.0.1:x", "port 'x'"),
        ("inproc://", "needs a name"),
    ],
)
def test_address_problem(address: str, problem: str) -> None:
    found = address_problem(address)
    assert (problem in found) if problem else found == ""


def test_a_malformed_address_in_a_config_fails_at_load(tmp_path: Path) -> None:
    text = "scheduler: {mode: address, address: 'tcp://127.0.0.1:port'}\n"
    with pytest.raises(ConfigError, match=r"scheduler.*port 'port'"):
        load(tmp_path, text)
