"""The base of every model: a frozen dataclass read from the node's JSON.

`Model.from_dict` takes the fields it declares (nested models, lists and dicts of
them, datetimes from ISO 8601) and keeps every other key in `extra`, so an answer
that gained a field on a newer node still reads, and the field is not lost.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping
from datetime import datetime
from typing import Any, ClassVar, Self

from amas.sdk.errors import ResponseValidationError

_NONE = type(None)


@dataclasses.dataclass(frozen=True, kw_only=True)
class Model:
    extra: dict[str, Any] = dataclasses.field(default_factory=dict, repr=False, compare=False)
    """Keys of the answer this model does not declare (newer nodes may add some)."""

    _hints: ClassVar[dict[type, dict[str, Any]]] = {}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        if not isinstance(data, Mapping):
            raise ResponseValidationError(f"{cls.__name__}: expected an object, got {data!r:.200}")
        hints = cls._field_types()
        values: dict[str, Any] = {}
        fields = [f for f in dataclasses.fields(cls) if f.name != "extra"]
        for field in fields:
            if field.name in data:
                where = f"{cls.__name__}.{field.name}"
                values[field.name] = _convert(hints[field.name], data[field.name], where)
            elif field.default is dataclasses.MISSING and (
                field.default_factory is dataclasses.MISSING
            ):
                raise ResponseValidationError(f"{cls.__name__}: the answer has no {field.name!r}")
        declared = {f.name for f in fields}
        extra = {key: value for key, value in data.items() if key not in declared}
        return cls(**values, extra=extra)

    @classmethod
    def _field_types(cls) -> dict[str, Any]:
        hints = Model._hints.get(cls)
        if hints is None:
            hints = Model._hints[cls] = typing.get_type_hints(cls)
        return hints

    def to_dict(self) -> dict[str, Any]:
        """The model as JSON-ready data, `extra` keys included."""
        out = {f.name: _plain(getattr(self, f.name)) for f in dataclasses.fields(self)}
        out.pop("extra")
        return {**self.extra, **out}


def _convert(tp: Any, value: Any, where: str) -> Any:
    origin = typing.get_origin(tp)
    if value is None:
        if tp is Any or (origin in (types.UnionType, typing.Union) and _NONE in tp.__args__):
            return None
        raise ResponseValidationError(f"{where}: null where {tp} was expected")
    if tp is Any:
        return value
    if origin in (types.UnionType, typing.Union):
        (inner,) = [arg for arg in tp.__args__ if arg is not _NONE]
        return _convert(inner, value, where)
    if origin is list:
        (item,) = typing.get_args(tp)
        return [
            _convert(item, v, f"{where}[{i}]") for i, v in enumerate(_expect(list, value, where))
        ]
    if origin is dict:
        _, item = typing.get_args(tp)
        return {
            k: _convert(item, v, f"{where}.{k}") for k, v in _expect(dict, value, where).items()
        }
    if isinstance(tp, type) and issubclass(tp, Model):
        return tp.from_dict(_expect(dict, value, where))
    if tp is datetime:
        try:
            return datetime.fromisoformat(_expect(str, value, where))
        except ValueError:
            raise ResponseValidationError(f"{where}: not an ISO 8601 time: {value!r}") from None
    if tp is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return _expect(tp, value, where)


def _expect(tp: type, value: Any, where: str) -> Any:
    if not isinstance(value, tp):
        raise ResponseValidationError(f"{where}: expected {tp.__name__}, got {value!r:.200}")
    return value


def _plain(value: Any) -> Any:
    if isinstance(value, Model):
        return value.to_dict()
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value
