"""Typed configuration of the territory job (validated before any work).

The YAML of ``spmopt territory solve`` maps onto :class:`TerritoryConfig`.
Every field has a safe default except the units table, the potential
measure and the reps. See ``docs/territory.md`` for a worked example.
"""

from __future__ import annotations

import os
import warnings
from typing import Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from spmopt.config import Config, FieldValueError, TablePath
from spmopt.errors import ConfigError, SpmoptWarning

MeasureName = Literal["potential", "workload", "units"]

MAX_SPLIT_PARTS = 100
"""Most parts ``remedies.split`` may cut one unit into. The parts of a unit
neighbour each other under contiguity (n(n-1)/2 pairs): at 1,000 parts a
36-unit grid took 3.9 GB and found no alignment in its limit."""

KEYWORD_TABLE_FIELDS = {"current": "nearest", "contiguity.adjacency": "delaunay"}
"""Fields that take a keyword or a table file, with their keyword."""


class Measure(Config):
    """A per-unit quantity built from one column: ``scale * column + per_unit``.

    Examples: potential = establishments (``column: establishments``);
    workload in days = 1 day per county plus 0.002 days per establishment
    (``column: establishments, scale: 0.002, per_unit: 1``).
    """

    column: str | None = None
    scale: float = Field(1.0, ge=0)
    per_unit: float = Field(0.0, ge=0)

    @model_validator(mode="after")
    def _something(self) -> Measure:
        if self.column is None and self.per_unit == 0:
            raise ValueError("give a column or a per_unit value > 0")
        return self


def part_ids(unit: str, parts: int) -> str:
    """The ids ``remedies.split`` gives the parts of a unit, e.g. ``B2#1, B2#2``."""
    if parts <= 3:
        return ", ".join(f"{unit}#{j}" for j in range(1, parts + 1))
    return f"{unit}#1, {unit}#2, ..., {unit}#{parts}"


def planar_aliases(data: object, where: str) -> object:
    """Input with ``x``/``y`` keys renamed ``lat``/``lon`` (planar coordinates).

    With ``coords: xy`` the first coordinate is x and the second y; they are
    held in the ``lat``/``lon`` fields, and ``x``/``y`` may name them.
    """
    if not isinstance(data, dict) or not {"x", "y"} & set(data):
        return data
    out = dict(data)
    for alias, field in (("x", "lat"), ("y", "lon")):
        if alias in out:
            if field in out:
                raise ValueError(
                    f"{where}: give {alias!r} or {field!r}, not both "
                    f"({alias!r} is the planar name of {field!r})"
                )
            out[field] = out.pop(alias)
    return out


class UnitsSpec(Config):
    """The accounts or geographic units to align.

    ``coords`` says what the two coordinate columns hold: ``latlon``
    (degrees; ``lat``, ``lon``; distances in km, haversine) or ``xy``
    (planar, one length unit; ``x`` and ``y`` may be written for ``lat``
    and ``lon``; Euclidean distances in that unit).
    """

    table: TablePath
    id: str = "unit_id"
    coords: Literal["latlon", "xy"] = "latlon"
    lat: str = Field("lat", description="Latitude column (or x when coords: xy).")
    lon: str = Field("lon", description="Longitude column (or y when coords: xy).")
    potential: Measure
    workload: Measure = Measure(per_unit=1.0)
    current_owner: str | None = None
    locked_owner: str | None = None
    keep: dict[str, list[str]] = Field(
        default_factory=dict,
        description="Keep only rows whose column value is in the list.",
    )

    @model_validator(mode="before")
    @classmethod
    def _planar_names(cls, data: object) -> object:
        coords = data.get("coords", "latlon") if isinstance(data, dict) else None
        if coords not in ("latlon", "xy"):
            return planar_aliases(data, "units")  # the coords field error alone
        if isinstance(data, dict) and {"x", "y"} & set(data) and coords != "xy":
            raise ValueError(
                "'x' and 'y' name planar coordinate columns; set coords: xy "
                "(or name latitude and longitude columns with 'lat' and 'lon')"
            )
        return planar_aliases(data, "units")


class RepRow(Config):
    """One rep given inline in the config (``x``/``y`` may stand for lat/lon)."""

    rep_id: str = Field(min_length=1)
    lat: float
    lon: float
    capacity: float | None = Field(None, gt=0)
    target_share: float | None = Field(None, gt=0)

    @model_validator(mode="before")
    @classmethod
    def _planar_names(cls, data: object) -> object:
        return planar_aliases(data, "rep row")


class RepsSpec(Config):
    """The reps: inline ``rows`` or a ``table`` with the named columns."""

    rows: list[RepRow] | None = None
    table: TablePath | None = None
    id: str = "rep_id"
    lat: str = "lat"
    lon: str = "lon"
    capacity: str | None = "capacity"
    target_share: str | None = "target_share"
    default_capacity: float | None = Field(None, gt=0)

    @model_validator(mode="before")
    @classmethod
    def _planar_names(cls, data: object) -> object:
        return planar_aliases(data, "reps")

    @model_validator(mode="after")
    def _one_source(self) -> RepsSpec:
        if (self.rows is None) == (self.table is None):
            raise ValueError("give exactly one of 'rows' (inline) or 'table'")
        if self.rows is not None and len(self.rows) == 0:
            raise ValueError("'rows' is empty; give at least one rep")
        return self


class BalanceSpec(Config):
    """Keep a measure of each rep within a band around its target.

    The target of rep k is ``share_k * total`` where ``share_k`` is its
    ``target_share`` normalised over all reps (equal shares by default).
    The band is ``target * (1 ± tolerance)``, optionally tightened by
    absolute ``min``/``max`` bounds in the unit of the measure.
    """

    measure: MeasureName = "potential"
    tolerance: float | None = Field(0.05, ge=0, le=1)
    min: float | None = Field(None, ge=0)
    max: float | None = Field(None, ge=0)


class DisruptionSpec(Config):
    """Cap on what moves away from its current owner.

    ``budget`` is a share (0..1) of the total of ``measure`` that may move;
    0 keeps the current alignment. Needs a current alignment.
    """

    measure: MeasureName = "potential"
    budget: float = Field(ge=0, le=1)


class DistanceTableSpec(Config):
    """Unit-to-rep distances or travel times supplied as a long table.

    Pairs missing from the table may not be used (except a unit's current
    or locked owner, which falls back to the coordinate distance).
    """

    table: TablePath
    unit_id: str = "unit_id"
    rep_id: str = "rep_id"
    value: str = "distance"


class ContiguitySpec(Config):
    """Keep every territory connected (rebalance mode, ``cpsat`` method).

    ``adjacency`` is a table of neighbouring pairs (the columns named by
    ``unit_a`` and ``unit_b``, default ``unit_id`` and ``neighbor_id``) or
    ``delaunay`` to join units whose locations are neighbours in a Delaunay
    triangulation (for centroid data).
    """

    adjacency: Literal["delaunay"] | TablePath = "delaunay"
    unit_a: str = "unit_id"
    unit_b: str = "neighbor_id"


class ObjectiveSpec(Config):
    """What the solver minimises.

    ``compactness`` sums unit-to-base distance (km for lat/lon, weighted by
    ``distance_weight``); ``disruption_penalty`` adds that many distance
    units per unit of moved measure (see :class:`DisruptionSpec`);
    ``balance_penalty`` adds that many per unit of total absolute deviation
    of ``balance_measure`` from the reps' targets.
    """

    distance_weight: Literal["none", "potential", "workload"] = "none"
    disruption_penalty: float = Field(0.0, ge=0)
    balance_measure: MeasureName = "potential"
    balance_penalty: float = Field(0.0, ge=0)


class SolverSpec(Config):
    """Solver settings. Deterministic runs give identical files per seed.

    ``method`` picks the algorithm: ``cpsat`` (one CP-SAT model, proves
    optimality on small and medium instances), ``lp_round`` (LP relaxation
    bound, then rounding and neighbourhood MIPs with HiGHS; for thousands of
    units; no contiguity or balance penalty) or ``auto`` (``lp_round`` from
    ``lp_round_pairs`` allowed unit-rep pairs up when it applies, else
    ``cpsat``).

    ``workers`` above the machine's CPU cores (``os.cpu_count()``) is
    accepted, since a config may be written for a larger machine, but warns:
    the extra workers only compete for the same cores.
    """

    method: Literal["auto", "cpsat", "lp_round"] = "auto"
    lp_round_pairs: int = Field(
        20_000, ge=1, description="Allowed pairs from which auto uses lp_round."
    )
    time_limit_seconds: float = Field(60.0, gt=0)
    deterministic_time: float | None = Field(
        None,
        gt=0,
        description="Work limit in deterministic seconds (every method); "
        "the same limit gives the same alignment on any machine.",
    )
    workers: int = Field(2, ge=1, le=64)
    deterministic: bool = True
    relative_gap: float = Field(1e-4, ge=0, lt=1)
    k_nearest: int | None = Field(5, ge=1)

    @field_validator("workers")
    @classmethod
    def _warn_more_workers_than_cores(cls, value: int) -> int:
        cores = os.cpu_count()
        if cores is not None and value > cores:
            warnings.warn(
                f"solver.workers is {value} but this machine has {cores} CPU "
                f"core(s); the extra workers compete for the same cores (set "
                f"solver.workers to at most {cores})",
                SpmoptWarning,
                stacklevel=2,
            )
        return value


class DesignSpec(Config):
    """Design mode: choose ``territories`` centres among candidate units.

    ``capacity`` is the workload one territory may carry (None: no limit);
    ``candidates`` names a yes/no column of the units table (None: every
    unit may be a centre); ``k_nearest`` limits each unit to its nearest
    candidates (None keeps all: exact, slower); ``use_bounds`` turns on the
    Lagrangian bound and reduced-cost fixing. Design mode refuses
    ``contiguity`` and ``remedies``, which its solvers cannot enforce.
    """

    territories: int = Field(ge=1)
    capacity: float | None = Field(None, gt=0)
    candidates: str | None = None
    k_nearest: int | None = Field(None, ge=1)
    use_bounds: bool = True


class ParetoSpec(Config):
    """Sweep of ``spmopt territory pareto`` (epsilon-constraint).

    Every pair (budget, tolerance) is solved with the disruption budget as
    a constraint on ``measure`` and the first balance band's tolerance
    replaced by ``tolerance``; non-dominated points are reported.
    """

    measure: MeasureName = "potential"
    budgets: list[float] = Field(
        default_factory=lambda: [0.0, 0.02, 0.05, 0.1, 0.15, 0.2, 0.3, 0.5, 1.0],
        min_length=1,
    )
    tolerances: list[float | None] | None = Field(None, min_length=1)

    @model_validator(mode="after")
    def _shares(self) -> ParetoSpec:
        for value in [*self.budgets, *(self.tolerances or [])]:
            if value is not None and not 0 <= value <= 1:
                raise ValueError(
                    f"budgets and tolerances must be in [0, 1], got {value}"
                )
        return self


class RemediesSpec(Config):
    """Fixes for alignments that cannot balance as posed (see the explanation).

    ``drop_reps`` removes bases (crowded or unreachable ones; their units
    lose their current owner). ``move_base`` puts a rep's base at the
    location of a unit (``{rep_id: unit_id}``; distances to that rep are
    recomputed from coordinates, current owners and locks stay).
    ``add_reps`` adds new bases ``new-1``, ``new-2``, ...: a count placed
    greedily where the most potential is unserved, or a list of unit ids to
    place them at; each gets ``new_rep_capacity`` (workload; default the
    median rep's) and ``new_rep_share`` times the median rep's target share.
    ``dedicated`` gives each named unit a territory of its own: its nearest
    remaining rep takes it alone, outside every band, and the other reps
    share the rest. ``split`` cuts a unit into that many equal parts (2 to
    :data:`MAX_SPLIT_PARTS`) at the same place (ids ``<id>#1``...); other
    remedies name a part, not the split unit. ``wider_band`` sets a rep's balance
    tolerance. ``auto`` dedicates oversized units, then gives each crowded
    or stranded base the least drastic fix that clears it: a wider band for
    its rep (up to ±50%), else its base moved to where potential is
    unserved, else dropping it (the log line says why the milder fixes did
    not do; the last banded rep is never dropped). On small instances (up
    to 120 allowed unit-rep pairs) fixes are checked exactly: the mildest
    single fix after which an alignment exists is taken. It logs what it
    did, with the setting that makes each step permanent.
    """

    drop_reps: list[str] = Field(default_factory=list)
    move_base: dict[str, str] = Field(default_factory=dict)
    add_reps: int | list[str] = 0
    new_rep_capacity: float | None = Field(None, gt=0)
    new_rep_share: float = Field(1.0, gt=0, le=100)
    dedicated: list[str] = Field(default_factory=list)
    split: dict[str, int] = Field(default_factory=dict)
    wider_band: dict[str, float] = Field(default_factory=dict)
    auto: bool = False

    @model_validator(mode="after")
    def _ranges(self) -> RemediesSpec:
        for unit, parts in self.split.items():
            if not 2 <= parts <= MAX_SPLIT_PARTS:
                raise FieldValueError(
                    "split",
                    f"unit {unit!r} is cut into {parts} parts; give 2 to "
                    f"{MAX_SPLIT_PARTS} parts",
                )
        for rep, tol in self.wider_band.items():
            if not 0 <= tol <= 10:
                raise ValueError(
                    f"wider_band: rep {rep!r} tolerance must be in [0, 10], got {tol}"
                )
        return self

    @model_validator(mode="after")
    def _split_not_dedicated(self) -> RemediesSpec:
        for unit in self.dedicated:
            if unit in self.split:
                parts = self.split[unit]
                raise FieldValueError(
                    "dedicated",
                    f"unit {unit!r} is also in remedies.split, which cuts it into "
                    f"{parts} parts ({part_ids(unit, parts)}); dedicate a part by "
                    f"its id, or remove {unit} from one of the two",
                )
        return self

    @field_validator("add_reps", mode="before")
    @classmethod
    def _count_or_units(cls, value: object) -> object:
        if isinstance(value, bool) or not isinstance(value, int | list):
            raise ValueError("must be a count >= 0 or a list of unit ids")
        if isinstance(value, int) and value < 0:
            raise ValueError("must be a count >= 0 or a list of unit ids")
        if isinstance(value, list) and len({str(u) for u in value}) < len(value):
            twice = next(u for u in value if value.count(u) > 1)
            raise ValueError(f"names unit {twice!r} twice")
        return value


class TerritoryConfig(Config):
    """Settings of ``spmopt territory solve`` (rebalance or design mode).

    Examples
    --------
    >>> TerritoryConfig.model_validate({  # doctest: +SKIP
    ...     "units": {"table": "bundled:us_counties", "id": "geoid",
    ...               "potential": {"column": "establishments"}},
    ...     "reps": {"rows": [{"rep_id": "ATL", "lat": 33.75, "lon": -84.39}]},
    ... })
    """

    mode: Literal["rebalance", "design"] = "rebalance"
    units: UnitsSpec
    reps: RepsSpec | None = None
    design: DesignSpec | None = None
    current: Literal["nearest"] | TablePath | None = Field(
        None,
        description="Current alignment: a table (unit_id, rep_id) or 'nearest'.",
    )
    capacity: bool = True
    balance: list[BalanceSpec] = Field(default_factory=lambda: [BalanceSpec()])
    disruption: DisruptionSpec | None = None
    locked: bool = True
    contiguity: ContiguitySpec | None = None
    distances: DistanceTableSpec | None = None
    objective: ObjectiveSpec = ObjectiveSpec()
    solver: SolverSpec = SolverSpec()
    pareto: ParetoSpec = ParetoSpec()
    remedies: RemediesSpec = RemediesSpec()
    tracking_uri: str | None = None
    track: bool = True

    @model_validator(mode="before")
    @classmethod
    def _no_empty_keyword_table(cls, data: object, info: ValidationInfo) -> object:
        """Refuse ``''`` where a keyword or a table file goes (one plain line)."""
        for field, keyword in KEYWORD_TABLE_FIELDS.items():
            value: object = data
            for part in field.split("."):
                value = value.get(part) if isinstance(value, dict) else None
            if isinstance(value, str) and not value.strip():
                source = (info.context or {}).get("source", "config")
                raise ConfigError(
                    f"{source}: field '{field}': {value!r} is neither the keyword "
                    f"{keyword!r} nor a table file"
                )
        return data

    @model_validator(mode="after")
    def _design_ignores_nothing(self, info: ValidationInfo) -> TerritoryConfig:
        """Refuse contiguity and remedies in design mode, which cannot use them."""
        if self.mode != "design":
            return self
        used = ["contiguity"] if self.contiguity is not None else []
        used += [f"remedies.{name}" for name in sorted(self.remedies.model_fields_set)]
        if used:
            source = (info.context or {}).get("source", "config")
            names = ", ".join(f"'{name}'" for name in used)
            verb = f"field {names} is" if len(used) == 1 else f"fields {names} are"
            raise ConfigError(
                f"{source}: {verb} not supported in design mode (mode: design); "
                f"remove {'it' if len(used) == 1 else 'them'}, or run mode: "
                "rebalance with the designed centres as reps"
            )
        return self

    @model_validator(mode="after")
    def _mode_inputs(self) -> TerritoryConfig:
        if self.mode == "rebalance" and self.reps is None:
            raise ValueError("mode 'rebalance' needs 'reps' (rows or table)")
        if self.mode == "design" and self.design is None:
            raise ValueError("mode 'design' needs a 'design' section")
        return self

    @model_validator(mode="after")
    def _method_applies(self) -> TerritoryConfig:
        if self.solver.method != "lp_round":
            return self
        if self.contiguity is not None:
            raise ValueError(
                "solver.method lp_round does not support contiguity; use cpsat or auto"
            )
        if self.objective.balance_penalty > 0:
            raise ValueError(
                "solver.method lp_round does not support objective.balance_penalty; "
                "use balance bands, or cpsat"
            )
        return self

    @model_validator(mode="after")
    def _band_consistent(self) -> TerritoryConfig:
        for spec in self.balance:
            if spec.min is not None and spec.max is not None and spec.min > spec.max:
                raise ValueError(
                    f"balance on {spec.measure}: min {spec.min} exceeds max {spec.max}"
                )
        return self
