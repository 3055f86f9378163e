"""Typed, frozen configuration read from YAML at the edge.

Every job defines a :class:`Config` subclass. :func:`load_config` reads a
YAML file, validates it into that class and turns any problem into one
:class:`~spmopt.errors.ConfigError` naming the field, the value and what is
allowed. Relative table paths resolve against the config file's folder.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar, get_args, get_origin

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    ValidationError,
    ValidationInfo,
)

from spmopt._paths import path_problem
from spmopt.errors import ConfigError

BUNDLED_PREFIX = "bundled:"

C = TypeVar("C", bound="Config")


class Config(BaseModel):
    """Base of every configuration object: frozen, unknown fields refused."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class FieldValueError(ValueError):
    """A whole-model check that blames one field (a dotted path below the model).

    Raise it from a ``model_validator`` so the message names the field,
    e.g. ``measures.1.gates``, instead of the model as a whole.
    """

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class _NamedRef(str):
    """A table reference a config names: ``source`` is that config file.

    See :func:`named_in`; a ``bundled:`` reference is one of these.
    """

    source = "config"


class _FileRef(_NamedRef):
    """A file path a config names (resolved); :func:`check_files` finds it."""


def _resolve_table_path(value: str, info: ValidationInfo) -> str:
    context = info.context or {}
    ref: _NamedRef
    if value.startswith(BUNDLED_PREFIX):
        ref = _NamedRef(value)
    elif not value.strip():
        raise ValueError("must be a file path or bundled:<name>, not empty")
    else:
        path = Path(value).expanduser()
        base = context.get("base_dir")
        if not path.is_absolute() and base is not None:
            path = Path(base) / path
        ref = _FileRef(path)
    ref.source = str(context.get("source", "config"))
    return ref


TablePath = Annotated[str, AfterValidator(_resolve_table_path)]
"""A table reference: ``bundled:<name>`` or a CSV/Parquet (or YAML) path.

Relative paths are resolved against the folder of the config file.
:func:`check_files` refuses a path that is missing or a folder, naming the
field and the config file.
"""


class _DuplicateKey(yaml.YAMLError):
    """A mapping that names the same key twice (YAML itself keeps the last)."""

    def __init__(self, key: object, line: int, first: int) -> None:
        super().__init__(f"key {key!r} appears twice")
        self.key, self.line, self.first = key, line, first


class _BadDate(yaml.YAMLError):
    """A YAML date that is not on the calendar, e.g. ``2027-02-30``."""

    def __init__(self, node: yaml.Node, reason: str) -> None:
        super().__init__(reason)
        self.node, self.reason, self.path = node, reason, list[str]()


class _UniqueKeyLoader(yaml.SafeLoader):
    """Safe YAML loader that refuses a key repeated within one mapping."""


def _timestamp(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> Any:
    try:
        return loader.construct_yaml_timestamp(node)
    except ValueError as exc:
        raise _BadDate(node, str(exc)) from None


def _blame(exc: _BadDate, children: list[tuple[str, yaml.Node]]) -> None:
    """Prepend to ``exc.path`` the name of the child holding the bad date."""
    index = exc.node.start_mark.index
    for name, child in children:
        inside = child.start_mark.index <= index < child.end_mark.index
        if inside or child is exc.node:
            exc.path.insert(0, name)
            return


def _sequence(loader: yaml.SafeLoader, node: yaml.SequenceNode) -> Any:
    try:
        return loader.construct_sequence(node, deep=True)
    except _BadDate as exc:
        _blame(exc, [(str(i), child) for i, child in enumerate(node.value)])
        raise


def _unique_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> Any:
    seen: dict[Any, int] = {}
    for key_node, _ in node.value:
        if key_node.tag == "tag:yaml.org,2002:merge":  # ``<<``: may be overridden
            continue
        key = loader.construct_object(key_node, deep=True)
        if not isinstance(key, (str, int, float, bool)):
            continue
        line = key_node.start_mark.line + 1
        if key in seen:
            raise _DuplicateKey(key, line, seen[key])
        seen[key] = line
    try:
        return loader.construct_mapping(node, deep=True)
    except _BadDate as exc:
        _blame(exc, [(str(k.value), v) for k, v in node.value])
        raise


_UniqueKeyLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _unique_mapping
)
_UniqueKeyLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _sequence
)
_UniqueKeyLoader.add_constructor("tag:yaml.org,2002:timestamp", _timestamp)


class WrittenFloat(float):
    """A YAML float that keeps the digits it was written with.

    It is a float everywhere; :meth:`exact` gives the number as written
    (``123456789012345.01``, which no float holds), for money fields.
    """

    text = ""

    def exact(self) -> Decimal:
        """The decimal as written (the float's shortest form if unusual)."""
        try:
            value = Decimal(self.text.replace("_", ""))
        except InvalidOperation:  # e.g. sexagesimal 1:30.5
            value = Decimal(repr(float(self)))
        return value if value.is_finite() else Decimal(repr(float(self)))


def _written_float(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> Any:
    value = WrittenFloat(loader.construct_yaml_float(node))
    value.text = str(node.value)
    return value


_UniqueKeyLoader.add_constructor("tag:yaml.org,2002:float", _written_float)


def read_yaml(path: str | Path, what: str = "config file") -> dict[str, Any]:
    """Read a YAML mapping from ``path`` with user-facing errors.

    ``what`` names the file in the errors about finding it, e.g.
    ``"--plan file"``.
    """
    path = Path(path)
    _refuse_unreadable(path, what)
    try:
        data = yaml.load(_read_text(path, what), Loader=_UniqueKeyLoader)
    except _BadDate as exc:
        field = ".".join(exc.path) or "(top level)"
        raise ConfigError(
            f"{path} line {exc.node.start_mark.line + 1}: field '{field}' is not a "
            f"real date: {exc.node.value!r} ({exc.reason}); write YYYY-MM-DD"
        ) from None
    except _DuplicateKey as exc:
        raise ConfigError(
            f"{path} line {exc.line}: key {exc.key!r} appears twice (first on "
            f"line {exc.first}); keep one"
        ) from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}{_yaml_problem(exc)}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text ({exc.reason})") from None
    except ValueError as exc:  # PyYAML building an impossible date, e.g. 2027-13-01
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    if data is None:
        raise ConfigError(f"{path}: config file is empty")
    if not isinstance(data, dict):
        kind = type(data).__name__
        raise ConfigError(f"{path}: top level must be a mapping of fields, got {kind}")
    return data


def _yaml_problem(exc: yaml.YAMLError) -> str:
    """`` line L, column C: not valid YAML: <what the parser expected>``.

    One line: PyYAML's own text spans several, with the source shown as
    ``"<unicode string>"`` and the offending line quoted.
    """
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    where = "" if mark is None else f" line {mark.line + 1}, column {mark.column + 1}"
    context, start = getattr(exc, "context", None), getattr(exc, "context_mark", None)
    if context and context.startswith("expected") and problem.startswith("but"):
        problem = f"{context}, {problem}"  # e.g. a second document ('---')
    elif context and start is not None:
        problem += f" ({context} that starts on line {start.line + 1})"
    elif context:
        problem += f" ({context})"
    return f"{where}: not valid YAML: {problem}"


def _refuse_unreadable(path: Path, what: str) -> None:
    """Refuse a config file that is missing, a folder, a device or unreadable."""
    problem = path_problem(path)
    if problem is None:
        return
    if problem.kind == "missing":
        raise ConfigError(f"{what} not found: {path}")
    if problem.kind == "unreadable":
        raise ConfigError(f"{path}: cannot read the {what} ({problem.reason})")
    instead = f"; {_instead(path)}" if problem.kind == "folder" else ""
    raise ConfigError(f"{what} {problem}{instead}")


def _read_text(path: Path, what: str) -> str:
    """The text of a config file; an unreadable file is a ConfigError."""
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise
    except OSError as exc:
        reason = (exc.strerror or str(exc)).lower()
        raise ConfigError(f"{path}: cannot read the {what} ({reason})") from None


def _instead(folder: Path) -> str:
    """What to give instead of ``folder``: one of its YAML files, if any."""
    try:
        names = sorted(
            p.name for p in folder.iterdir() if p.suffix in {".yaml", ".yml"}
        )
    except OSError:
        names = []
    if not names:
        return "give the path of a YAML file"
    shown = ", ".join(names[:5]) + (" ..." if len(names) > 5 else "")
    return f"give one of the YAML files inside it: {shown}"


def parse_config(
    cls: type[C],
    data: dict[str, Any],
    source: str = "config",
    base_dir: str | Path | None = None,
) -> C:
    """Validate ``data`` into ``cls``; raise one readable ConfigError."""
    try:
        context = {"base_dir": base_dir, "source": source}
        return cls.model_validate(data, context=context)
    except ValidationError as exc:
        lines = _describe_errors(cls, exc.errors())
        raise ConfigError(f"{source}: " + "; ".join(lines)) from None


def _describe_errors(cls: type[BaseModel], errors: list[Any]) -> list[str]:
    """One phrase per error; unknown fields of one section share one phrase."""
    lines: list[Any] = []
    unknown: dict[tuple[Any, ...], list[str]] = {}
    for err in errors:
        if err["type"] != "extra_forbidden":
            line = _describe_error(cls, err)
            last = lines[-1] if lines and isinstance(lines[-1], str) else None
            merged = _either(last, line) if last is not None else None
            if merged is not None:
                lines[-1] = merged
            else:
                lines.append(line)
            continue
        section = tuple(err["loc"][:-1])
        if section not in unknown:
            unknown[section] = []
            lines.append(section)  # the section's phrase goes here
        unknown[section].append(_loc(cls, err))
    return [
        _unknown_fields(cls, line, unknown[line]) if isinstance(line, tuple) else line
        for line in lines
    ]


def _either(first: str, second: str) -> str | None:
    """Two phrases for one field and value, e.g. from the members of a union,
    as one: ``field 'a' must be 'x' or must be a valid string, got 5``."""
    head_a, _, tail_a = first.partition(" must ")
    head_b, _, tail_b = second.partition(" must ")
    rest_a, _, got_a = tail_a.rpartition(", got ")
    rest_b, _, got_b = tail_b.rpartition(", got ")
    if not (tail_a and tail_b and head_a == head_b and got_a == got_b):
        return None
    return f"{head_a} must {rest_a} or {rest_b}, got {got_a}"


def _unknown_fields(
    cls: type[BaseModel], section: tuple[Any, ...], locs: list[str]
) -> str:
    """``unknown field 'a'`` (or ``fields 'a', 'b'``) with the allowed ones."""
    names = ", ".join(f"'{loc}'" for loc in locs)
    kind = "field" if len(locs) == 1 else "fields"
    return (
        f"unknown {kind} {names}; allowed fields here: {_allowed_fields(cls, section)}"
    )


def load_config(cls: type[C], path: str | Path, what: str = "config file") -> C:
    """Read ``path`` (YAML) and validate it into ``cls``.

    Files the config names are not opened here; :func:`check_files` checks
    that they exist (a chained job may name a file an earlier step writes).
    """
    path = Path(path)
    data = read_yaml(path, what)
    return parse_config(cls, data, source=str(path), base_dir=path.parent)


def check_files(cfg: BaseModel, source: str = "config") -> None:
    """Refuse a file named in ``cfg`` that cannot be read, or a bundled name.

    Every :data:`TablePath` of ``cfg`` read from a YAML file is checked
    with :func:`check_file`; a field that also takes keywords (``current:
    nearest`` or a table) names its keywords in the message.

    Raises
    ------
    ConfigError
        ``<source>: field 'units.table': file not found: <path>`` (or ``<path>
        is a folder, not a file``) for the first such field.
    """
    for loc, path, keywords in _file_refs(cfg, "", ()):
        check_file(path, loc, keywords, source)
    for loc, ref in _bundled_refs(cfg, ""):
        allowed = _bundled_names()
        if ref[len(BUNDLED_PREFIX) :] not in allowed:
            names = ", ".join(BUNDLED_PREFIX + name for name in allowed)
            raise ConfigError(
                f"{source}: field '{loc}': unknown bundled table {ref!r}; "
                f"allowed: {names}"
            )


def check_file(
    ref: str,
    field: str,
    keywords: tuple[Any, ...] = (),
    source: str | None = None,
) -> None:
    """Refuse the file ``ref`` that config field ``field`` names, if unreadable.

    Parameters
    ----------
    ref : str
        The (resolved) path; a ``bundled:`` reference or one of ``keywords``
        passes.
    field : str
        Dotted field path for the message, e.g. ``contiguity.adjacency``.
    keywords : tuple
        Keywords the field also takes, e.g. ``("nearest",)``.
    source : str, optional
        The config file named in the message; default :func:`named_in`.

    Raises
    ------
    ConfigError
        ``<source>: field '<field>': file not found: <path>`` (or a folder, a
        device, unreadable); with keywords, ``'<path>' is neither the keyword
        'nearest' nor an existing table file``.
    """
    if ref.startswith(BUNDLED_PREFIX) or ref in keywords:
        return
    problem = path_problem(ref)
    if problem is None:
        return
    where = f"{source}: field '{field}'" if source else named_field(ref, field)
    if not keywords:
        raise ConfigError(f"{where}: {problem}")
    words = ", ".join(repr(word) for word in keywords)
    words = f"the keyword{'s' if len(keywords) > 1 else ''} {words}"
    if problem.kind == "missing":
        raise ConfigError(
            f"{where}: {ref!r} is neither {words} nor an existing table file"
        )
    raise ConfigError(f"{where}: {problem}; give a table file or {words}")


def named_in(ref: str) -> str:
    """The config file that names the file ``ref``, for messages.

    ``"config"`` when the config was not read through :func:`parse_config`
    with a source (e.g. built in code), or ``ref`` is a plain string.
    """
    return getattr(ref, "source", "config")


def named_field(ref: str, field: str) -> str:
    """``<config file>: field '<field>'``: where the file ``ref`` was named.

    Messages about a file a config names start with it, e.g.
    ``territory.yaml: field 'current': <path>: missing column(s) ...``.
    """
    return f"{named_in(ref)}: field '{field}'"


def table_name(ref: str, field: str) -> str:
    """How messages name the table ``ref`` that config field ``field`` gives.

    ``<config file>: field '<field>': <path>``, e.g. ``territory.yaml: field
    'units.table': /data/units.csv``; a bundled table reads ``bundled table
    us_counties`` in place of the path. Errors about the table's content
    start with it.
    """
    if ref.startswith(BUNDLED_PREFIX):
        shown = f"bundled table {ref[len(BUNDLED_PREFIX) :]}"
    else:
        shown = str(ref)
    return f"{named_field(ref, field)}: {shown}"


def _bundled_names() -> list[str]:
    """Names of the bundled tables, sorted (loaded on first use)."""
    from spmopt.data.bundled import LOADERS

    return sorted(LOADERS)


def _bundled_refs(value: Any, loc: str) -> Iterator[tuple[str, str]]:
    """``(field path, reference)`` for every ``bundled:`` string in ``value``."""
    if isinstance(value, str):
        if value.startswith(BUNDLED_PREFIX):
            yield loc, value
    elif isinstance(value, BaseModel):
        for name in type(value).model_fields:
            inner = f"{loc}.{name}" if loc else name
            yield from _bundled_refs(getattr(value, name), inner)
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _bundled_refs(item, f"{loc}.{key}")
    elif isinstance(value, list | tuple):
        for i, item in enumerate(value):
            yield from _bundled_refs(item, f"{loc}.{i}")


def _file_refs(
    value: Any, loc: str, keywords: tuple[Any, ...]
) -> Iterator[tuple[str, str, tuple[Any, ...]]]:
    """``(field path, file path, keywords of the field)`` for every file in value."""
    if isinstance(value, _FileRef):
        yield loc, str(value), keywords
    elif isinstance(value, BaseModel):
        for name, field in type(value).model_fields.items():
            inner = f"{loc}.{name}" if loc else name
            yield from _file_refs(
                getattr(value, name), inner, _literals(field.annotation)
            )
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _file_refs(item, f"{loc}.{key}", keywords)
    elif isinstance(value, list | tuple):
        for i, item in enumerate(value):
            yield from _file_refs(item, f"{loc}.{i}", keywords)


def _literals(annotation: Any) -> tuple[Any, ...]:
    """Every ``Literal`` value inside a field's type (unions, Optional...)."""
    if get_origin(annotation) is Literal:
        return get_args(annotation)
    return tuple(v for arg in get_args(annotation) for v in _literals(arg))


def _loc(cls: type[BaseModel], err: Any) -> str:
    """The dotted field path an error names, e.g. ``inner.capacity``.

    Pydantic's names for the members of a plain union (``literal['x']``,
    ``function-after[...]``, ``str``) are left out: they are not fields.
    """
    parts = [str(p) for p in _field_path(cls, err["loc"]) if not _union_member(p)]
    blamed = (err.get("ctx") or {}).get("error")
    if isinstance(blamed, FieldValueError):
        parts.append(blamed.field)
    return ".".join(parts) or "(top level)"


def _union_member(part: Any) -> bool:
    """True for pydantic's name of a union member in an error's location."""
    return isinstance(part, str) and (
        "[" in part or part in ("str", "int", "float", "bool", "none")
    )


def _describe_error(cls: type[BaseModel], err: Any) -> str:
    loc = _loc(cls, err)
    if err["type"] == "extra_forbidden":
        return _unknown_fields(cls, tuple(err["loc"][:-1]), [loc])
    if err["type"] == "missing":
        return f"field '{loc}' is required"
    if err["type"] in ("model_type", "model_attributes_type", "dict_type"):
        return f"field '{loc}' must be a section of fields, got {err.get('input')!r}"
    msg = str(err["msg"])
    if err["type"] not in ("value_error", "assertion_error"):
        msg = msg.split(", got ")[0]  # pydantic's own: the value is added below
    msg = msg[0].lower() + msg[1:] if msg else msg
    value = err.get("input")
    if isinstance(value, dict):  # a whole section: its own message says enough
        return f"field '{loc}' {_as_clause(msg)}"
    return f"field '{loc}' {_as_clause(msg)}, got {value!r}"


def _as_clause(msg: str) -> str:
    for prefix in ("value error, ", "assertion failed, "):
        if msg.startswith(prefix):
            return "is invalid: " + msg[len(prefix) :]
    if msg.startswith("input should"):
        return "must" + msg[len("input should") :]
    return "is invalid: " + msg


def _allowed_fields(cls: type[BaseModel], loc: tuple[Any, ...]) -> str:
    model: Any = cls
    members: list[Any] = []
    for part in loc:
        if isinstance(part, int) or model is None:
            continue
        field = getattr(model, "model_fields", {}).get(part)
        if field is None:  # a tagged union's tag: the member with that kind
            model = next((m for m in members if _kind(m) == part), None)
            continue
        members = _models_of(field.annotation)
        model = members[0] if members else None
    names = sorted(getattr(model, "model_fields", {}) or [])
    return ", ".join(names) if names else "(none)"


def _field_path(cls: type[BaseModel], loc: tuple[Any, ...]) -> list[Any]:
    """``loc`` without the tags pydantic adds for a tagged union's member."""
    model: Any = cls
    members: list[Any] = []
    path = []
    for part in loc:
        tag = next((m for m in members if _kind(m) == part), None)
        if len(members) > 1 and tag is not None:  # right after the union
            model, members = tag, []
            continue
        path.append(part)
        if not isinstance(part, int):
            field = getattr(model, "model_fields", {}).get(part)
            members = _models_of(field.annotation) if field is not None else []
            model = members[0] if members else None
    return path


def _kind(model: Any) -> Any:
    field = getattr(model, "model_fields", {}).get("kind")
    return None if field is None else field.default


def _models_of(annotation: Any) -> list[Any]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    found = []
    for arg in getattr(annotation, "__args__", ()) or ():
        found += _models_of(arg)
    return found
