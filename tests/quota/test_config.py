"""QuotaConfig validation."""

from pathlib import Path

import pytest

from spmopt.config import parse_config
from spmopt.errors import ConfigError
from spmopt.quota import QuotaConfig


def test_validates_from_a_plain_dict_and_copies_with_a_new_table() -> None:
    cfg = parse_config(QuotaConfig, {"reps": "bundled:x", "target": 100.0})
    moved = cfg.model_copy(update={"reps": "/tmp/territories.csv"})
    assert moved.reps == "/tmp/territories.csv"
    assert moved.bounds.floor == 0.0 and moved.bounds.cap is None


def test_relative_table_resolves_against_the_config_folder(tmp_path: Path) -> None:
    cfg = parse_config(QuotaConfig, {"reps": "r.csv", "target": 1}, base_dir=tmp_path)
    assert cfg.reps == str(tmp_path / "r.csv")


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"ramp": [0.5, 1.5]}, "field 'ramp.1' must be less than or equal to 1"),
        ({"p10_column": "p10"}, "must be given together"),
        ({"method": "historical"}, "needs history_column"),
        ({"attainment": {"cv": 0}}, "attainment.cv"),
        ({"rounding_decimals": 3}, "rounding_decimals"),
        ({"solver": "gurobi"}, "solver"),
    ],
)
def test_bad_fields_are_named(fields: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=None) as info:
        parse_config(QuotaConfig, {"reps": "r.csv", "target": 100.0, **fields})
    assert message in str(info.value)


def test_rounding_to_thousands_needs_a_round_target() -> None:
    cfg = {"reps": "r.csv", "target": 5_000_000, "rounding_decimals": -3}
    assert parse_config(QuotaConfig, cfg).target == 5_000_000
    with pytest.raises(ConfigError, match="rounding units"):
        parse_config(QuotaConfig, {**cfg, "target": 5_000_500})


@pytest.mark.parametrize(
    ("ramp", "message"),
    [
        ([2, 0.5], "field 'ramp.0' must be less than or equal to 1, got 2"),
        ([0.5, 0], "field 'ramp.1' must be greater than 0, got 0"),
    ],
)
def test_a_bad_ramp_share_is_named_once(ramp: list[float], message: str) -> None:
    from spmopt.quota.config import CapacityConfig

    configs = (
        (QuotaConfig, {"reps": "r.csv", "target": 100.0}),
        (CapacityConfig, {"quota_per_rep": 100.0}),
    )
    for cls, fields in configs:
        with pytest.raises(ConfigError) as info:
            parse_config(cls, {**fields, "ramp": ramp}, source="q.yaml")
        assert str(info.value) == f"q.yaml: {message}"
