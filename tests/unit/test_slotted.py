"""The value classes over their ``__slots__`` compare and print field by field, as dataclasses would."""

from __future__ import annotations

import pytest

from lime_repl.cli.list_command import ListArgs
from lime_repl.cli.search_command import SearchArgs
from lime_repl.store.extract import FileRow
from lime_repl.store.slotted import SlotValue


class _Point(SlotValue):
    __slots__ = ("x", "y")

    def __init__(self, x: int, y: int) -> None:
        self.x, self.y = x, y


class _Size(SlotValue):
    __slots__ = ("x", "y")

    def __init__(self, x: int, y: int) -> None:
        self.x, self.y = x, y


def test_equal_by_every_field_and_unequal_when_one_differs() -> None:
    assert ListArgs(3, "json", True) == ListArgs(3, "json", True)
    assert ListArgs(3, "json", True) != ListArgs(4, "json", True)
    assert ListArgs(3, "json", True) != ListArgs(3, "table", True)
    assert ListArgs(3, "json", True) != ListArgs(3, "json", False)
    assert FileRow("a", 1, 2, 3, texted=5) == FileRow("a", 1, 2, 3, texted=5)
    assert FileRow("a", 1, 2, 3, texted=5) != FileRow("a", 1, 2, 3, texted=6)


def test_another_class_is_never_equal_even_with_the_same_fields_and_none_hashes() -> None:
    assert _Point(1, 2) == _Point(1, 2)
    assert _Point(1, 2) != _Size(1, 2)
    assert _Point(1, 2) != (1, 2)
    with pytest.raises(TypeError):
        hash(SearchArgs("x"))


def test_repr_names_each_field_in_order() -> None:
    assert repr(SearchArgs("x", fmt="json")) == (
        "SearchArgs(pattern='x', everywhere=False, ignore_case=False, fmt='json')"
    )
