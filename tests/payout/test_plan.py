import re
from pathlib import Path

import pytest

from spmopt.errors import ConfigError, SpmoptWarning
from spmopt.payout.plan import PlanConfig, load_plan, parse_plan

REPO = Path(__file__).resolve().parents[2]


def plan_with_tiers(tiers: list[dict], **curve: object) -> dict:
    return {"measures": [{"name": "revenue", "curve": {"tiers": tiers, **curve}}]}


def test_example_plan_loads_with_typed_fields() -> None:
    plan = load_plan(REPO / "configs" / "payout" / "plan_accelerator.yaml")
    assert isinstance(plan, PlanConfig)
    assert plan.n_periods == 1
    tiers = plan.measures[0].curve.tiers
    assert tiers is not None and [t.rate for t in tiers] == [0.0, 2.0, 3.0, 1.0]
    assert plan.measures[0].cap_share == 2.5


@pytest.mark.parametrize(
    ("tiers", "pattern"),
    [
        ([{"from": 0, "to": 10, "rate": 1}, {"from": 8, "rate": 2}], "overlap"),
        ([{"from": 0, "to": 10, "rate": 1}, {"from": 12, "rate": 2}], "gap"),
        (
            [{"from": 0, "to": 10, "rate": 1}, {"from": 10, "to": 5, "rate": 2}],
            "must increase",
        ),
        (
            [{"from": 0, "to": 10, "rate": -1}, {"from": 10, "rate": 2}],
            r"rate must be >= 0, got -1",
        ),
        ([{"from": 0, "to": 10, "rate": 1}], "open-ended"),
        ([{"from": 5, "rate": 1}], r"tiers\[0\]\.from must be 0"),
        ([{"from": 0, "rate": 1}, {"from": 10, "rate": 2}], "only the last"),
        ([], "empty"),
    ],
)
def test_bad_tiers_name_the_field(tiers: list[dict], pattern: str) -> None:
    with pytest.raises(ConfigError, match=r"measures\.0\.curve") as info:
        parse_plan(plan_with_tiers(tiers))
    assert re.search(pattern, str(info.value))


def test_negative_rate_allowed_when_stated() -> None:
    tiers = [{"from": 0, "to": 10, "rate": 1}, {"from": 10, "rate": -0.5}]
    plan = parse_plan(plan_with_tiers(tiers, allow_negative_rates=True))
    assert plan.measures[0].curve.tiers[1].rate == -0.5  # type: ignore[index]


def test_points_must_increase_from_zero() -> None:
    bad = {"measures": [{"name": "r", "curve": {"points": [[0, 0], [1, 1], [1, 2]]}}]}
    with pytest.raises(ConfigError, match="points x must increase"):
        parse_plan(bad)
    late = {"measures": [{"name": "r", "curve": {"points": [[0.5, 0], [1, 1]]}}]}
    with pytest.raises(ConfigError, match="start at x = 0"):
        parse_plan(late)


def test_tiers_and_points_are_exclusive() -> None:
    both = {"tiers": [{"from": 0, "rate": 1}], "points": [[0, 0], [1, 1]]}
    with pytest.raises(ConfigError, match="exactly one of 'tiers' or 'points'"):
        parse_plan({"measures": [{"name": "r", "curve": both}]})


def test_unknown_field_lists_allowed_fields() -> None:
    data = plan_with_tiers([{"from": 0, "rate": 1}])
    data["capp"] = 3
    with pytest.raises(ConfigError, match=r"unknown field 'capp'.*cap_share"):
        parse_plan(data)


def test_gate_must_name_an_existing_measure() -> None:
    data = plan_with_tiers([{"from": 0, "rate": 1}])
    data["measures"][0]["gates"] = [{"measure": "logos", "min_attainment": 0.5}]
    pattern = (
        r"field 'measures\.0\.gates\.0\.measure' is invalid: gate measure "
        r"'logos' is not a measure"
    )
    with pytest.raises(ConfigError, match=pattern):
        parse_plan(data)


def test_seasonality_must_match_periods_and_sum_to_one() -> None:
    data = plan_with_tiers([{"from": 0, "rate": 1}])
    with pytest.raises(ConfigError, match="needs 4 weights"):
        parse_plan({**data, "period": "quarter", "seasonality": [0.5, 0.5]})
    with pytest.raises(ConfigError, match="positive sum"):
        parse_plan({**data, "period": "quarter", "seasonality": [1, -1, 1, 1]})


def test_basis_must_match_credit() -> None:
    curve = {"basis": "units", "tiers": [{"from": 0, "rate": 1}]}
    with pytest.raises(ConfigError, match=r"curve\.basis 'units' must be"):
        parse_plan({"measures": [{"name": "r", "credit": "amount", "curve": curve}]})


def test_weights_not_summing_to_one_warn(recwarn: pytest.WarningsRecorder) -> None:
    tiers = [{"from": 0, "rate": 1}]
    measures = [
        {"name": "revenue", "weight": 0.9, "curve": {"tiers": tiers}},
        {"name": "logos", "weight": 0.2, "curve": {"tiers": tiers}},
    ]
    with pytest.warns(SpmoptWarning, match="weights sum to 1.1, not 1"):
        parse_plan({"target_incentive": 1000, "measures": measures})
    measures[0]["weight"] = 0.8
    parse_plan({"target_incentive": 1000, "measures": measures})
    assert not [w for w in recwarn if issubclass(w.category, SpmoptWarning)]


@pytest.mark.parametrize(
    ("curve", "pattern"),
    [
        (
            {
                "application": "retroactive",
                "tiers": [{"from": 0, "to": 1, "rate": 2}, {"from": 1, "rate": 1.5}],
            },
            r"measure 'revenue' pays less for more: .* falls at attainment 1 "
            r"from 2 to 1\.5",
        ),
        (
            {"points": [[0, 0], [1, 1], [1.5, 0.8], [2, 1.2]]},
            r"falls at attainment 1 from 1 to 0\.8",
        ),
    ],
)
def test_falling_payout_curve_warns_naming_measure_and_points(
    curve: dict, pattern: str
) -> None:
    with pytest.warns(SpmoptWarning, match=pattern):
        parse_plan({"measures": [{"name": "revenue", "curve": curve}]})


@pytest.mark.parametrize(
    "curve",
    [
        {  # decelerator: a lower marginal rate still raises the payout
            "tiers": [{"from": 0, "to": 1, "rate": 2}, {"from": 1, "rate": 0.5}]
        },
        {"points": [[0, 0], [1, 1], [2, 1]]},  # a plateau (cap)
        {
            "application": "retroactive",
            "tiers": [{"from": 0, "to": 1, "rate": 2}, {"from": 1, "rate": 1}],
            "allow_decreasing": True,
        },
    ],
)
def test_rising_or_declared_curves_do_not_warn(
    curve: dict, recwarn: pytest.WarningsRecorder
) -> None:
    parse_plan({"measures": [{"name": "revenue", "curve": curve}]})
    assert not [w for w in recwarn if issubclass(w.category, SpmoptWarning)]


def test_falling_spif_curve_warns_naming_the_spif() -> None:
    tiers = [{"from": 0, "to": 5, "rate": 100}, {"from": 5, "rate": 50}]
    spif = {"name": "logos", "curve": {"basis": "deals", "tiers": tiers}}
    spif["curve"]["application"] = "retroactive"
    plan = plan_with_tiers([{"from": 0, "rate": 1}])
    with pytest.warns(SpmoptWarning, match=r"spif 'logos' .* at deals 5 from 500"):
        parse_plan({**plan, "spifs": [spif]})


def test_plan_numbers_are_read_exactly_as_written(tmp_path: Path) -> None:
    # 123456789012345.01 is 123456789012345.02 once read as a float.
    (tmp_path / "plan.yaml").write_text(
        "target_incentive: 1000.10\n"
        "floor_amount: 0.30\n"
        "draw: {amount: 98765432109876.54}\n"
        "measures:\n  - name: revenue\n    cap_amount: 123456789012345.01\n"
        "    gates: [{min_attainment: 0.95}]\n"
        "    curve: {tiers: [{from: 0, to: 1.05, rate: 0.1}, {from: 1.05, rate: 2}]}\n"
    )
    plan = load_plan(tmp_path / "plan.yaml")
    measure = plan.measures[0]
    assert str(measure.cap_amount) == "123456789012345.01"
    assert str(plan.target_incentive) == "1000.10"
    assert str(plan.floor_amount) == "0.30"
    assert plan.draw is not None and str(plan.draw.amount) == "98765432109876.54"
    assert str(measure.gates[0].min_attainment) == "0.95"
    tiers = measure.curve.tiers
    assert tiers is not None and [str(t.start) for t in tiers] == ["0", "1.05"]
    # JSON (manifests): a number when a float prints it so, else its text
    dumped = plan.model_dump(mode="json")
    assert dumped["target_incentive"] == 1000.1
    assert dumped["measures"][0]["cap_amount"] == "123456789012345.01"


@pytest.mark.parametrize(
    ("value", "expected"),
    [(1000.1, "1000.1"), ("1000.10", "1000.10"), (1000, "1000"), (0.1 + 0.2, None)],
)
def test_plan_numbers_given_in_python(value: object, expected: str | None) -> None:
    plan = parse_plan(
        {
            "cap_amount": value,
            "measures": [{"name": "r", "curve": {"points": [[0, 0], [1, 1]]}}],
        }
    )
    # a Python float is the decimal it prints as: 0.30000000000000004
    assert str(plan.cap_amount) == (expected or repr(0.1 + 0.2))


@pytest.mark.parametrize(
    ("field", "value", "pattern"),
    [
        ("cap_amount", "abc", r"cap_amount.*decimal"),
        ("cap_amount", -5, r"cap_amount.*greater than or equal to 0"),
        ("floor_amount", ".inf", r"floor_amount.*finite"),
        ("target_incentive", "1,000.10", r"target_incentive.*decimal"),
    ],
)
def test_bad_plan_amounts_name_the_field(
    tmp_path: Path, field: str, value: object, pattern: str
) -> None:
    (tmp_path / "plan.yaml").write_text(
        f"{field}: {value}\n"
        "measures:\n  - name: revenue\n    curve: {points: [[0, 0], [1, 1]]}\n"
    )
    with pytest.raises(ConfigError, match=pattern) as info:
        load_plan(tmp_path / "plan.yaml")
    assert "\n" not in str(info.value)


BIG = "at most 1,000,000,000,000,000 in absolute value"
RATE = "at most 1,000,000 in absolute value"


@pytest.mark.parametrize(
    ("change", "field", "allowed"),
    [
        ({"cap_amount": "1e16"}, "measures.0.cap_amount", BIG),
        ({"floor_amount": "1000000000000000.01"}, "measures.0.floor_amount", BIG),
        ({"cap_share": "1e7"}, "measures.0.cap_share", RATE),
        ({"gates": [{"min_attainment": "2e6"}]}, "measures.0.gates.0.min", RATE),
        ({"weight": 2e6}, "measures.0.weight", "less than or equal to 1000000"),
        (
            {"curve": {"points": [[0, 0], [1, "1e16"]]}},
            "measures.0.curve.points.1.1",
            BIG,
        ),
        (
            {
                "curve": {
                    "tiers": [
                        {"from": 0, "to": "1e16", "rate": 1},
                        {"from": "1e16", "rate": 1},
                    ]
                }
            },
            "measures.0.curve.tiers.0.to",
            BIG,
        ),
    ],
)
def test_plan_numbers_out_of_range_name_the_field(
    change: dict, field: str, allowed: str
) -> None:
    measure = {"name": "revenue", "curve": {"tiers": [{"from": 0, "rate": 1.0}]}}
    plan = {"target_incentive": 1000, "measures": [{**measure, **change}]}
    with pytest.raises(ConfigError) as caught:
        parse_plan(plan)
    message = str(caught.value)
    assert f"field '{field}" in message and allowed in message, message


def test_plan_numbers_at_the_limits_are_accepted() -> None:
    measure = {
        "name": "revenue",
        "quota": "1e15",
        "cap_amount": "1000000000000000.00",
        "curve": {"tiers": [{"from": 0, "rate": "-1e6"}], "allow_negative_rates": True},
    }
    plan = parse_plan({"target_incentive": "1e15", "measures": [measure]})
    assert plan.measures[0].curve.tiers is not None
    assert plan.measures[0].curve.tiers[0].rate == -(10**6)


def test_draw_and_seasonality_are_bounded() -> None:
    measure = {"name": "revenue", "curve": {"tiers": [{"from": 0, "rate": 1.0}]}}
    with pytest.raises(ConfigError, match=r"field 'draw.amount'.*" + BIG):
        parse_plan({"measures": [measure], "draw": {"amount": "1e16"}})
    with pytest.raises(ConfigError, match="at most 1,000,000, with a positive sum"):
        parse_plan(
            {
                "measures": [measure],
                "seasonality": [1.0, 2e6, 1, 1],
                "period": "quarter",
            }
        )
