"""Edges' values reconciled with the declared schema at the boundary, losing nothing.

Edges changes a field's type now and then (its changelog of 2026-02-18 made
``linkedin_company_id`` an integer) and serves some counts as strings. A validating target (every
singer-sdk target validates by default) stops the load at the first RECORD that does not match
the SCHEMA the tap sent, so every output item goes through :class:`Conformer` before it is
emitted:

* a value that can take the declared type without losing anything takes it: ``"42"`` → 42 for
  an integer field, 42 → ``"42"`` for a string field, ``"true"`` → true, an epoch number or a
  time without a zone → ISO 8601 UTC for a ``date-time`` field;
* a value that cannot (an object for a string field, ``"n/a"`` for an integer, a null for a
  field that takes none) is kept as it came in the record's ``edges_unreconciled`` object
  (field → value), and the field is null (absent where it takes no null);
* a field the schema does not declare is kept as it came in the record's ``edges_extra``
  object, so that it can be promoted to a column without extracting again.

Keys are reconciled like every other field, before keys are derived from them, so an item's key
is the same whether its parts arrive as 42 or ``"42"``. The check costs a type lookup per
field: a record whose values all have their declared types passes unchanged.
"""

from __future__ import annotations

import collections
import dataclasses
import math
import re
import typing as t

from tap_edges.times import iso, parse_time

if t.TYPE_CHECKING:
    import logging

EXTRA = "edges_extra"
UNRECONCILED = "edges_unreconciled"
JSON_TYPE = {
    str: "string",
    int: "integer",
    float: "number",
    bool: "boolean",
    dict: "object",
    list: "array",
    type(None): "null",
}
PYTHON_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "object": (dict,),
    "array": (list,),
    "null": (type(None),),
}
_INTEGER = re.compile(r"\s*[+-]?\d+\s*")
_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})")
_FAILED = object()  # what a value that cannot take the declared type reconciles to
# The tap writes it itself (ISO 8601 UTC, or null) before items reach the conformer.
EXTRACTED_AT = "extracted_at"


def _iso(value: object) -> bool:
    """Whether a string is a ``date-time`` as JSON schema means it (RFC 3339)."""
    text = t.cast("str", value)
    if text[10:11] == "T" and text[-1:] == "Z" and text[4:5] == text[7:8] == "-":
        return True  # the form Edges serves (a quick look: a regex costs three times as much)
    return _RFC3339.fullmatch(text) is not None


@dataclasses.dataclass(frozen=True)
class Declared:
    """What the schema declares for one field.

    Attributes:
        kinds: Its JSON types, in the schema's order.
        passes: Python types that pass unchanged without a closer look.
        date_time: A string field of format ``date-time``.
        properties: For an object field, its declared properties.
        items: For an array field, what its items are.
    """

    kinds: tuple[str, ...]
    passes: frozenset[type]
    date_time: bool = False
    properties: dict[str, Declared] | None = None
    items: Declared | None = None

    @classmethod
    def of(cls, schema: dict[str, t.Any]) -> Declared:
        """Read a field's schema (a field without a type takes any value)."""
        types = schema.get("type", list(PYTHON_TYPES))
        kinds = tuple(types) if isinstance(types, list) else (types,)
        props = schema.get("properties")
        properties = {k: cls.of(v) for k, v in props.items()} if props else None
        items = cls.of(schema["items"]) if isinstance(schema.get("items"), dict) else None
        passes = {kind for k in kinds for kind in PYTHON_TYPES.get(k, ())}
        date_time = schema.get("format") == "date-time"
        if properties is not None or items is not None:
            passes -= {dict, list}  # what is inside is looked at too
        return cls(kinds, frozenset(passes), date_time, properties, items)

    @property
    def nullable(self) -> bool:
        """Whether the field takes null."""
        return "null" in self.kinds

    @property
    def words(self) -> str:
        """The declared type, as the log says it."""
        return "/".join(self.kinds)


def reconcile(value: object, declared: Declared) -> tuple[object, bool]:
    """A value in the declared type, where that loses nothing.

    Args:
        value: The value as Edges sent it.
        declared: What the schema declares.

    Returns:
        The value to emit and whether it holds everything the original did (False: the
        original must be kept aside; what is returned is null or, inside, partly mended).
    """
    kind = type(value)
    if kind in declared.passes and not (declared.date_time and kind is str and not _iso(value)):
        return value, True
    if kind is dict and declared.properties is not None:
        return _reconcile_object(t.cast("dict[str, t.Any]", value), declared.properties)
    if kind is list and declared.items is not None:
        pairs = [reconcile(item, declared.items) for item in t.cast("list[t.Any]", value)]
        return [new for new, _ in pairs], all(whole for _, whole in pairs)
    for target in declared.kinds:
        new = _convert(value, target, date_time=declared.date_time)
        if new is not _FAILED:
            return new, True
    return None, False


def _reconcile_object(
    value: dict[str, t.Any], properties: dict[str, Declared]
) -> tuple[object, bool]:
    """An object's declared properties reconciled (undeclared ones kept as they are)."""
    mended, whole = dict(value), True
    for key, declared in properties.items():
        if key in mended:
            mended[key], fine = reconcile(mended[key], declared)
            whole = whole and fine
    return mended, whole


def _convert(value: object, target: str, *, date_time: bool) -> object:  # noqa: PLR0911
    """``value`` as a value of JSON type ``target`` without loss, or ``_FAILED``."""
    kind = type(value)
    if target == "string" and date_time and kind in {str, int, float}:
        moment = parse_time(value)
        return _FAILED if moment is None else iso(moment)
    if target == "string" and kind in {int, float}:
        return str(value)
    if target == "string" and kind is bool:
        return "true" if value else "false"
    if target in {"integer", "number"} and kind is str and _INTEGER.fullmatch(str(value)):
        return int(str(value))
    if target == "integer" and kind is float and float(str(value)).is_integer():
        return int(t.cast("float", value))
    if target == "number" and kind is str:
        try:
            number = float(str(value))
        except ValueError:
            return _FAILED
        return number if math.isfinite(number) else _FAILED
    if target == "boolean" and kind is str and str(value).strip().lower() in {"true", "false"}:
        return str(value).strip().lower() == "true"
    if target == "boolean" and kind is int and value in {0, 1}:
        return value == 1
    return _FAILED


@dataclasses.dataclass(frozen=True)
class Drift:
    """What the conformer did during a sync, for the summary line."""

    reconciled: int = 0
    kept_raw: int = 0
    unknown: int = 0

    def __add__(self, other: Drift) -> Drift:
        """Both counts together."""
        return Drift(
            self.reconciled + other.reconciled,
            self.kept_raw + other.kept_raw,
            self.unknown + other.unknown,
        )


class Conformer:
    """Reconciles one stream's items with its schema, and counts what it did."""

    def __init__(self, stream: str, schema: dict[str, t.Any]) -> None:
        """Read the stream's schema.

        Args:
            stream: The stream's name (for the log).
            schema: The stream's JSON schema.
        """
        self.stream = stream
        self.fields = {
            key: Declared.of(field)
            for key, field in schema["properties"].items()
            if key not in {EXTRA, UNRECONCILED}
        }
        self._passes = {key: declared.passes for key, declared in self.fields.items()}
        self._times = [k for k, d in self.fields.items() if d.date_time and k != EXTRACTED_AT]
        # (field, JSON type seen) -> [values reconciled, values kept raw]
        self._seen: dict[tuple[str, str], list[int]] = collections.defaultdict(lambda: [0, 0])
        self._unknown: collections.Counter[str] = collections.Counter()

    def conform(self, item: dict[str, t.Any]) -> dict[str, t.Any]:
        """Reconcile an item in place (see the module docstring).

        Args:
            item: An output item, as parsed from Edges' JSON.

        Returns:
            The item.
        """
        if not self._as_declared(item):
            self._mend(item)
        return item

    def _as_declared(self, item: dict[str, t.Any]) -> bool:
        """Whether every value of the item has its declared type (most items: a plain loop)."""
        passes = self._passes
        for key, value in item.items():
            if type(value) not in passes.get(key, ()):
                return False
        for key in self._times:
            value = item.get(key)
            if type(value) is str and not _iso(value):
                return False
        return True

    def _mend(self, item: dict[str, t.Any]) -> None:
        passes = self._passes
        odd = [key for key, value in item.items() if type(value) not in passes.get(key, ())]
        odd += [k for k in self._times if type(item.get(k)) is str and not _iso(item[k])]
        extra: dict[str, t.Any] = {}
        raw: dict[str, t.Any] = {}
        for key in odd:
            value = item[key]
            declared = self.fields.get(key)
            if declared is None:
                extra[key] = item.pop(key)
                self._unknown[key] += 1
                continue
            new, whole = reconcile(value, declared)
            if new is value and whole:
                continue  # an ISO time, or an object whose inside is as declared
            self._seen[key, JSON_TYPE.get(type(value), "unknown")][0 if whole else 1] += 1
            if not whole:
                raw[key] = value
            if new is None and not declared.nullable:
                del item[key]
            else:
                item[key] = new
        if extra:
            item[EXTRA] = extra
        if raw:
            item[UNRECONCILED] = raw

    def report(self, logger: logging.Logger) -> Drift:
        """Log one WARNING per field whose values drifted this sync; the counts.

        Args:
            logger: Where to warn.

        Returns:
            What was reconciled, kept raw and kept aside as unknown.
        """
        by_field: dict[str, list[str]] = collections.defaultdict(list)
        drift = Drift(unknown=sum(self._unknown.values()))
        for (key, seen), (fixed, kept) in sorted(self._seen.items()):
            parts = [f"{fixed} reconciled"] if fixed else []
            parts += [f"{kept} kept as sent in {UNRECONCILED}"] if kept else []
            by_field[key].append(f"{seen} ({', '.join(parts)})")
            drift += Drift(fixed, kept)
        for key, seen_words in by_field.items():
            logger.warning(
                "%s: field %s is declared %s but Edges sent %s; the load goes on (check "
                "whether Edges changed the field's type).",
                self.stream,
                key,
                self.fields[key].words,
                "; ".join(seen_words),
            )
        for key, count in sorted(self._unknown.items()):
            logger.info(
                "%s: Edges sent field %s, which the schema does not declare, in %d item(s): "
                "kept as sent in %s.",
                self.stream,
                key,
                count,
                EXTRA,
            )
        return drift
