"""Read and validate the units, reps and current alignment into arrays.

:func:`build_problem` is the only place the territory job touches tables;
everything downstream works on the validated :class:`TerritoryProblem`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from spmopt._logging import logger
from spmopt.config import check_file, named_field, table_name
from spmopt.data import check_schema, load_table, require_nonnegative, require_unique
from spmopt.data.tables import data_rows, number_rows
from spmopt.errors import DataError, show
from spmopt.territory.config import Measure, RepsSpec, TerritoryConfig, UnitsSpec
from spmopt.territory.contiguity import ADJACENCY_FIELD, check_adjacency
from spmopt.territory.geometry import euclidean, haversine_km

NO_REP = -1
"""Index used for 'no current / locked owner'."""
UNITS_FIELD = "units.table"
"""Config fields naming the tables, for messages."""
REPS_FIELD = "reps.table"
REP_ROWS_FIELD = "reps.rows"
DISTANCES_FIELD = "distances.table"


@dataclass(frozen=True)
class TerritoryProblem:
    """A validated alignment instance as arrays.

    Attributes
    ----------
    unit_ids : ndarray of str, shape (n_units,)
    rep_ids : ndarray of str, shape (n_reps,)
    unit_lat, unit_lon : ndarray of shape (n_units,)
        Degrees (or x, y when ``coords == "xy"``).
    rep_lat, rep_lon : ndarray of shape (n_reps,)
        Rep bases, same convention.
    potential, workload : ndarray of shape (n_units,)
        In the user's units (e.g. establishments, days per year).
    capacity : ndarray of shape (n_reps,)
        Maximum workload per rep; ``inf`` when unlimited.
    target_share : ndarray of shape (n_reps,)
        Share of every balanced measure each rep should hold; sums to 1.
    distance : ndarray of shape (n_units, n_reps)
        km for lat/lon, coordinate units for x/y.
    current, locked : ndarray of int, shape (n_units,)
        Rep index of the current / locked owner, ``NO_REP`` when none.
    coords : {"latlon", "xy"}
    extra : DataFrame
        Descriptive unit columns carried to the outputs (e.g. name, state).
    dedicated : ndarray of bool, shape (n_reps,), optional
        Reps that hold only the units locked to them, outside every band
        (a dedicated territory); their ``target_share`` is 0.
    rep_tolerance : ndarray of shape (n_reps,), optional
        Per-rep balance tolerance replacing the configured one (NaN: keep).
    remedies : tuple of str
        The remedies applied from ``cfg.remedies``, in words.
    """

    unit_ids: NDArray[np.object_]
    rep_ids: NDArray[np.object_]
    unit_lat: NDArray[np.float64]
    unit_lon: NDArray[np.float64]
    rep_lat: NDArray[np.float64]
    rep_lon: NDArray[np.float64]
    potential: NDArray[np.float64]
    workload: NDArray[np.float64]
    capacity: NDArray[np.float64]
    target_share: NDArray[np.float64]
    distance: NDArray[np.float64]
    current: NDArray[np.int64]
    locked: NDArray[np.int64]
    coords: str = "latlon"
    extra: pd.DataFrame = field(default_factory=pd.DataFrame)
    dedicated: NDArray[np.bool_] | None = None
    rep_tolerance: NDArray[np.float64] | None = None
    remedies: tuple[str, ...] = ()

    @property
    def n_units(self) -> int:
        """Number of units (accounts or geographic units)."""
        return len(self.unit_ids)

    @property
    def n_reps(self) -> int:
        """Number of reps."""
        return len(self.rep_ids)

    @property
    def has_current(self) -> bool:
        """True when at least one unit has a current owner."""
        return bool((self.current != NO_REP).any())

    @property
    def is_dedicated(self) -> NDArray[np.bool_]:
        """Per rep: True for a dedicated territory (see ``dedicated``)."""
        if self.dedicated is None:
            return np.zeros(self.n_reps, dtype=bool)
        return self.dedicated

    def targets(self, name: str) -> NDArray[np.float64]:
        """Each rep's target of ``name``: its share of what is not dedicated."""
        values = self.measure(name)
        owner = np.where(self.locked != NO_REP, self.locked, 0)
        in_dedicated = (self.locked != NO_REP) & self.is_dedicated[owner]
        return self.target_share * float(values[~in_dedicated].sum())

    def measure(self, name: str) -> NDArray[np.float64]:
        """Per-unit values of ``potential``, ``workload`` or ``units`` (1 each)."""
        if name == "potential":
            return self.potential
        if name == "workload":
            return self.workload
        return np.ones(self.n_units)

    def pair_costs(
        self,
        units: NDArray[np.int64],
        reps: NDArray[np.int64],
        distance_weight: str = "none",
        disruption_measure: str = "potential",
        disruption_penalty: float = 0.0,
    ) -> NDArray[np.float64]:
        """Objective cost of giving ``units[j]`` to ``reps[j]``, element-wise.

        Distance to the rep, weighted by ``distance_weight`` (a measure or
        ``"none"``), plus ``disruption_penalty`` objective units per unit
        of ``disruption_measure`` moved away from a current owner.
        """
        weight = (
            np.ones(self.n_units)
            if distance_weight == "none"
            else self.measure(distance_weight)
        )
        cost = self.distance[units, reps] * weight[units]
        if disruption_penalty > 0 and self.has_current:
            moved = disruption_penalty * self.measure(disruption_measure)[units]
            owner = self.current[units]
            cost += np.where((owner != NO_REP) & (owner != reps), moved, 0.0)
        return cost


def build_problem(cfg: TerritoryConfig) -> TerritoryProblem:
    """Load and check every table named in ``cfg``; raise DataError on problems.

    In design mode the "reps" are the candidate centres (unit rows).
    """
    design = cfg.design if cfg.reps is None else None
    units = _read_units(cfg.units, None if design is None else design.candidates)
    reps = _candidate_reps(units, cfg) if cfg.reps is None else _read_reps(cfg)
    rep_index = {rep: k for k, rep in enumerate(reps["rep_id"])}
    lat, lon = units[cfg.units.lat].to_numpy(), units[cfg.units.lon].to_numpy()
    distance = _distance(cfg, lat, lon, reps)
    current = _current_owners(cfg, units, rep_index, distance)
    _check_adjacency(cfg, units)
    locked = _owner_column(units, cfg.units, cfg.units.locked_owner, rep_index)
    if cfg.distances is not None:
        table = _distance_table(cfg, units[cfg.units.id], rep_index)
        name = table_name(cfg.distances.table, DISTANCES_FIELD)
        distance = _merge_distances(
            table, distance, current, locked, units[cfg.units.id], name
        )
    problem = TerritoryProblem(
        unit_ids=units[cfg.units.id].to_numpy(dtype=object),
        rep_ids=reps["rep_id"].to_numpy(dtype=object),
        unit_lat=lat.astype(float),
        unit_lon=lon.astype(float),
        rep_lat=reps["lat"].to_numpy(dtype=float),
        rep_lon=reps["lon"].to_numpy(dtype=float),
        potential=_measure(units, cfg.units.potential),
        workload=_measure(units, cfg.units.workload),
        capacity=reps["capacity"].to_numpy(dtype=float),
        target_share=_shares(reps["target_share"].to_numpy(dtype=float)),
        distance=distance,
        current=current,
        locked=locked,
        coords=cfg.units.coords,
        extra=_extra_columns(units, cfg.units),
    )
    _check_balanced_measures(problem, cfg)
    if cfg.mode != "rebalance":
        return problem
    from spmopt.territory.remedies import apply_remedies

    problem, applied = apply_remedies(problem, cfg)
    return replace(problem, remedies=tuple(applied))


def _check_balanced_measures(problem: TerritoryProblem, cfg: TerritoryConfig) -> None:
    """Refuse a balance band on a measure that is 0 for every unit."""
    for spec in cfg.balance:
        if spec.tolerance is not None and not problem.measure(spec.measure).any():
            raise DataError(
                f"balance on {spec.measure!r}: every unit's {spec.measure} is 0, "
                "so there is nothing to balance; check the units table's "
                f"{spec.measure} column or remove this balance entry"
            )


def _load(ref: str, field: str) -> tuple[pd.DataFrame, str]:
    """The table ``ref`` that config field ``field`` names, and its name.

    Errors reading it (empty, not UTF-8, ...) start with the config and
    field; the name (:func:`table_name`) starts errors about its content.
    """
    return load_table(ref, name=named_field(ref, field)), table_name(ref, field)


def _reps_name(cfg: TerritoryConfig) -> str:
    """:func:`table_name` of the reps: their table, or their inline rows."""
    assert cfg.reps is not None
    if cfg.reps.table is not None:
        return table_name(cfg.reps.table, REPS_FIELD)
    return f"{named_field(cfg.units.table, REP_ROWS_FIELD)}: inline rows"


def _candidate_reps(units: pd.DataFrame, cfg: TerritoryConfig) -> pd.DataFrame:
    spec, design = cfg.units, cfg.design
    assert design is not None
    rows = units
    if design.candidates is not None:  # read as yes/no by _read_units
        rows = units[units[design.candidates].fillna(False).astype(bool)]
    if len(rows) < design.territories:
        raise DataError(
            f"design.territories={design.territories} but only {len(rows)} "
            f"candidate centre(s)"
        )
    capacity = np.inf if design.capacity is None else design.capacity
    return pd.DataFrame(
        {
            "rep_id": rows[spec.id].to_numpy(),
            "lat": rows[spec.lat].to_numpy(dtype=float),
            "lon": rows[spec.lon].to_numpy(dtype=float),
            "capacity": capacity,
            "target_share": np.nan,
        }
    )


def _read_units(spec: UnitsSpec, candidates: str | None = None) -> pd.DataFrame:
    """The units table, checked; ``candidates`` names its yes/no column
    of design centres (``design.candidates``), if any.
    """
    loaded, table = _load(spec.table, UNITS_FIELD)
    frame = number_rows(loaded)  # data rows of the table, whatever keep drops
    for column, allowed in spec.keep.items():
        if column not in frame.columns:
            raise DataError(f"{table}: 'units.keep' names missing column {column!r}")
        frame = frame[frame[column].astype(str).isin(allowed)]
    if frame.empty:
        raise DataError(f"{table}: no rows left after 'units.keep' {spec.keep}")
    schema = {spec.id: "str", spec.lat: "float", spec.lon: "float"}
    for measure in (spec.potential, spec.workload):
        if measure.column is not None:
            schema[measure.column] = "float"
    optional = _optional_columns(frame, spec, candidates, table)
    _require_coordinates(frame, (spec.lat, spec.lon), spec.coords, table, "units")
    frame = check_schema(frame, schema, table, optional=optional)
    _check_units(frame, spec, table)
    return frame.reset_index(drop=True)


def _optional_columns(
    frame: pd.DataFrame, spec: UnitsSpec, candidates: str | None, table: str
) -> dict[str, str]:
    """Kinds of the columns other settings name; refuse one that is missing."""
    named = {
        "units.current_owner": (spec.current_owner, "str"),
        "units.locked_owner": (spec.locked_owner, "str"),
        "design.candidates": (candidates, "bool"),
    }
    for setting, (name, _) in named.items():
        if name is not None and name not in frame.columns:
            raise DataError(f"{table}: missing column {name!r} named by {setting}")
    return {name: kind for name, kind in named.values() if name}


def _check_units(frame: pd.DataFrame, spec: UnitsSpec, table: str) -> None:
    require_unique(frame, spec.id, table)
    _require_filled(frame, (spec.lat, spec.lon), table)
    if spec.coords == "latlon":
        _check_degrees(table, frame[spec.lat], frame[spec.lon])
    for measure in (spec.potential, spec.workload):
        if measure.column is not None:
            require_nonnegative(frame, measure.column, table)


def _read_reps(cfg: TerritoryConfig) -> pd.DataFrame:
    spec = cfg.reps
    assert spec is not None
    if spec.rows is not None:  # values checked at load (RepRow)
        frame = pd.DataFrame([row.model_dump() for row in spec.rows])
        require_unique(frame, "rep_id", _reps_name(cfg))
    else:
        assert spec.table is not None
        loaded, table = _load(spec.table, REPS_FIELD)
        coords = (spec.lat, spec.lon)
        _require_coordinates(loaded, coords, cfg.units.coords, table, "reps")
        frame = _rename_reps(loaded, table, spec)
    frame["capacity"] = frame["capacity"].astype(float)
    if spec.default_capacity is not None:
        frame["capacity"] = frame["capacity"].fillna(spec.default_capacity)
    frame["capacity"] = frame["capacity"].fillna(np.inf)
    return frame.reset_index(drop=True)


def _require_coordinates(
    frame: pd.DataFrame,
    columns: tuple[str, str],
    coords: str,
    table: str,
    section: str,
) -> None:
    """Refuse missing coordinate columns, naming the settings that name them.

    With ``coords: xy`` the columns are set by ``<section>.x`` and
    ``<section>.y`` (default ``lat`` and ``lon``, the latitude names).
    """
    missing = [c for c in columns if c not in frame.columns]
    if not missing or coords != "xy":
        return  # check_schema names missing lat/lon columns
    present = ", ".join(map(str, frame.columns))
    raise DataError(
        f"{table}: missing coordinate column(s) {missing}; columns present: "
        f"{present}; with coords: xy name the columns with {section}.x and "
        f"{section}.y (e.g. {section}.x: x, {section}.y: y)"
    )


def _rename_reps(frame: pd.DataFrame, table: str, spec: RepsSpec) -> pd.DataFrame:
    schema = {spec.id: "str", spec.lat: "float", spec.lon: "float"}
    optional = {c: "float" for c in (spec.capacity, spec.target_share) if c}
    frame = check_schema(frame, schema, table, optional=optional)
    require_unique(frame, spec.id, table)
    _require_filled(frame, (spec.lat, spec.lon), table)
    for column in optional:
        if column in frame.columns:
            _require_positive(frame, column, table)
    return pd.DataFrame(
        {
            "rep_id": frame[spec.id],
            "lat": frame[spec.lat],
            "lon": frame[spec.lon],
            "capacity": _column_or_nan(frame, spec.capacity),
            "target_share": _column_or_nan(frame, spec.target_share),
        }
    )


def _require_filled(frame: pd.DataFrame, columns: tuple[str, ...], table: str) -> None:
    """Refuse an empty cell in ``columns`` (e.g. a coordinate)."""
    for column in columns:
        if frame[column].isna().any():
            empty = np.flatnonzero(frame[column].isna().to_numpy())[:1]
            raise DataError(
                f"{table}: column {column!r} is empty in data row "
                f"{data_rows(frame, empty)[0]}"
            )


def _require_positive(frame: pd.DataFrame, column: str, table: str) -> None:
    """Refuse a value <= 0 in ``column`` (an empty cell passes)."""
    values = frame[column]
    bad = np.flatnonzero((values <= 0).to_numpy())[:1]
    if bad.size:
        raise DataError(
            f"{table}: column {column!r} must be a number > 0 or empty, got "
            f"{show(values.iloc[bad[0]])} in data row {data_rows(values, bad)[0]}"
        )


def _column_or_nan(frame: pd.DataFrame, column: str | None) -> pd.Series:
    if column is None or column not in frame.columns:
        return pd.Series(np.nan, index=frame.index)
    return frame[column]


def _measure(frame: pd.DataFrame, measure: Measure) -> NDArray[np.float64]:
    values = np.full(len(frame), measure.per_unit, dtype=float)
    if measure.column is not None:
        values += measure.scale * frame[measure.column].to_numpy(dtype=float)
    return values


def _shares(raw: NDArray[np.float64]) -> NDArray[np.float64]:
    shares = np.where(np.isnan(raw), 1.0, raw)
    return shares / shares.sum()


def _distance(
    cfg: TerritoryConfig,
    lat: NDArray[np.float64],
    lon: NDArray[np.float64],
    reps: pd.DataFrame,
) -> NDArray[np.float64]:
    if cfg.units.coords == "xy":
        return euclidean(lat, lon, reps["lat"], reps["lon"])
    if cfg.reps is not None:  # None in design mode: the candidates are units
        spec = cfg.reps
        columns = ("lat", "lon") if spec.table is None else (spec.lat, spec.lon)
        _check_degrees(
            _reps_name(cfg),
            reps["lat"].rename(columns[0]),
            reps["lon"].rename(columns[1]),
        )
    return haversine_km(lat, lon, reps["lat"], reps["lon"])


def _check_degrees(table: str, lat: pd.Series, lon: pd.Series) -> None:
    """Latitudes must lie in [-90, 90] and longitudes in [-180, 180] degrees.

    ``lat`` and ``lon`` are named after their columns.
    """
    for name, values, limit in (("latitude", lat, 90.0), ("longitude", lon, 180.0)):
        bad = np.flatnonzero((values.astype(float).abs() > limit).to_numpy())[:1]
        if bad.size:
            raise DataError(
                f"{table}: column {values.name!r} must be a {name} in [-{limit:g}, "
                f"{limit:g}] degrees, got {show(values.iloc[bad[0]])} in data row "
                f"{data_rows(values, bad)[0]} (for x/y coordinates set "
                "units.coords: xy)"
            )


def _distance_table(
    cfg: TerritoryConfig, unit_ids: pd.Series, rep_index: dict[str, int]
) -> NDArray[np.float64]:
    spec = cfg.distances
    assert spec is not None
    loaded, table = _load(spec.table, DISTANCES_FIELD)
    schema = {spec.unit_id: "str", spec.rep_id: "str", spec.value: "float"}
    frame = check_schema(number_rows(loaded), schema, table)
    require_nonnegative(frame, spec.value, table)
    _check_known(frame[spec.rep_id], rep_index, table, spec.rep_id)
    _check_pairs_once(frame, spec.unit_id, spec.rep_id, table)
    unit_index = {u: i for i, u in enumerate(unit_ids)}
    frame = frame[frame[spec.unit_id].isin(unit_index)]
    out = np.full((len(unit_ids), len(rep_index)), np.inf)
    rows = frame[spec.unit_id].map(unit_index).to_numpy(dtype=int)
    cols = frame[spec.rep_id].map(rep_index).to_numpy(dtype=int)
    out[rows, cols] = frame[spec.value].to_numpy(dtype=float)
    return out


def _check_pairs_once(frame: pd.DataFrame, unit: str, rep: str, table: str) -> None:
    """Refuse a (unit, rep) pair given in two rows (which distance holds?)."""
    pairs = frame[[unit, rep]].dropna()
    repeated = np.flatnonzero(pairs.duplicated(keep=False).to_numpy())
    if repeated.size == 0:
        return
    first = pairs.iloc[repeated[0]]
    same = (pairs[unit] == first[unit]) & (pairs[rep] == first[rep])
    rows = ", ".join(map(str, data_rows(pairs, np.flatnonzero(same)[:5])))
    raise DataError(
        f"{table}: the pair {unit} {show(first[unit])}, {rep} {show(first[rep])} "
        f"is given more than once (data rows {rows}); give each pair one distance"
    )


def _merge_distances(
    table: NDArray[np.float64],
    coords: NDArray[np.float64],
    current: NDArray[np.int64],
    locked: NDArray[np.int64],
    unit_ids: pd.Series,
    name: str,
) -> NDArray[np.float64]:
    out = table.copy()
    for owners in (current, locked):
        rows = np.flatnonzero(
            (owners != NO_REP)
            & ~np.isfinite(out[np.arange(len(out)), np.maximum(owners, 0)])
        )
        out[rows, owners[rows]] = coords[rows, owners[rows]]
    orphan = np.flatnonzero(~np.isfinite(out).any(axis=1))
    if orphan.size:
        raise DataError(
            f"{name}: unit {show(unit_ids.iloc[orphan[0]])} has no distance to any "
            f"rep ({orphan.size} such unit(s))"
        )
    return out


def _current_owners(
    cfg: TerritoryConfig,
    units: pd.DataFrame,
    rep_index: dict[str, int],
    distance: NDArray[np.float64],
) -> NDArray[np.int64]:
    if cfg.current == "nearest":
        return np.argmin(distance, axis=1).astype(np.int64)
    if cfg.current is not None:
        return _current_from_table(cfg.current, units[cfg.units.id], rep_index)
    return _owner_column(units, cfg.units, cfg.units.current_owner, rep_index)


def _current_from_table(
    ref: str, unit_ids: pd.Series, rep_index: dict[str, int]
) -> NDArray[np.int64]:
    check_file(ref, "current", ("nearest",))
    loaded, table = _load(ref, "current")
    frame = check_schema(loaded, {"unit_id": "str", "rep_id": "str"}, table)
    require_unique(frame, "unit_id", table)
    _check_known(frame["rep_id"].dropna(), rep_index, table, "rep_id")
    owner = dict(zip(frame["unit_id"], frame["rep_id"], strict=True))
    unknown = set(owner) - set(unit_ids)
    if unknown:
        logger.warning(
            "%s: %d unit(s) are not in the units table and are ignored (e.g. %s)",
            table,
            len(unknown),
            show(sorted(unknown)[0]),
        )
    return np.array(
        [rep_index.get(str(owner.get(u)), NO_REP) for u in unit_ids], dtype=np.int64
    )


def _check_adjacency(cfg: TerritoryConfig, units: pd.DataFrame) -> None:
    """Refuse an adjacency table that is unreadable or names an unknown unit."""
    spec = cfg.contiguity
    if spec is None or spec.adjacency == "delaunay":
        return
    check_file(spec.adjacency, ADJACENCY_FIELD, ("delaunay",))
    ids = _all_unit_ids(cfg.units) if cfg.units.keep else units[cfg.units.id]
    check_adjacency(spec.adjacency, ids, spec.unit_a, spec.unit_b, cfg.units.id)


def _all_unit_ids(spec: UnitsSpec) -> pd.Series:
    """Every unit id of the units table, rows ``keep`` leaves out included."""
    frame, table = _load(spec.table, UNITS_FIELD)
    return check_schema(frame, {spec.id: "str"}, table)[spec.id]


def _owner_column(
    units: pd.DataFrame,
    spec: UnitsSpec,
    column: str | None,
    rep_index: dict[str, int],
) -> NDArray[np.int64]:
    """Rep index per unit from an owner column of the units table."""
    if column is None:
        return np.full(len(units), NO_REP, dtype=np.int64)
    values = units[column]
    table = table_name(spec.table, UNITS_FIELD)
    _check_known(values.dropna(), rep_index, table, column)
    return np.array(
        [NO_REP if pd.isna(v) else rep_index[v] for v in values], dtype=np.int64
    )


def _check_known(
    values: pd.Series, rep_index: dict[str, int], table: str, column: str
) -> None:
    unknown = sorted(set(values) - set(rep_index))
    if unknown:
        known = ", ".join(list(rep_index)[:10])
        raise DataError(
            f"{table}: column {column!r} names unknown rep {unknown[0]!r} "
            f"({len(unknown)} unknown in all); reps are: {known}"
        )


def _extra_columns(units: pd.DataFrame, spec: UnitsSpec) -> pd.DataFrame:
    wanted = [c for c in ("name", "state", "city") if c in units.columns]
    return units[wanted].reset_index(drop=True)
