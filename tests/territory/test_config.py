import os
import warnings

import pytest

from spmopt.config import parse_config
from spmopt.errors import SpmoptWarning
from spmopt.territory.config import SolverSpec


def test_more_workers_than_cores_warns_naming_field_value_and_cores(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    pattern = r"solver\.workers is 8 but this machine has 2 CPU core\(s\)"
    with pytest.warns(SpmoptWarning, match=pattern):
        spec = parse_config(SolverSpec, {"workers": 8}, source="territory.yaml")
    assert spec.workers == 8  # a warning, not a failure


@pytest.mark.parametrize("workers", [None, 1, 2])
def test_workers_within_the_cores_do_not_warn(
    monkeypatch: pytest.MonkeyPatch, workers: int | None
) -> None:
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    data = {} if workers is None else {"workers": workers}
    with warnings.catch_warnings():
        warnings.simplefilter("error", SpmoptWarning)
        parse_config(SolverSpec, data)


def test_unknown_core_count_does_not_warn(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "cpu_count", lambda: None)
    with warnings.catch_warnings():
        warnings.simplefilter("error", SpmoptWarning)
        assert parse_config(SolverSpec, {"workers": 64}).workers == 64
