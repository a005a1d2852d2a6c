"""A plain value class over its ``__slots__``: equality and repr by field, as a dataclass gives them.

Used where defining a dataclass costs start-up time a short command notices
(about 0.2 ms each): the catalog's :class:`~.extract.FileRow`, search's
:class:`~.search.SearchHit`, and the parsed arguments of the click-free
commands (:mod:`lime_repl.cli.list_command`, :mod:`lime_repl.cli.search_command`).
A subclass lists its fields in ``__slots__`` and writes its own ``__init__``.
"""

from __future__ import annotations

from typing import Any

__all__ = ["SlotValue"]


class SlotValue:
    """Equal to an instance of the same class whose fields (``__slots__``, in order) are equal; unhashable
    (its fields may change); ``Name(field=value, ...)`` as its repr."""

    __slots__: tuple[str, ...] = ()

    def _fields(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in self.__slots__)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, type(self)):
            return NotImplemented
        return self._fields() == other._fields()

    __hash__ = None  # type: ignore[assignment]  # mutable, compared by value

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.__slots__)
        return f"{type(self).__name__}({fields})"
