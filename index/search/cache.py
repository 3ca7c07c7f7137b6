"""The one bounded cache of the search side: least recently used out first."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar, cast

V = TypeVar("V")
_MISSING = object()


class SizedCache(Generic[V]):
    """A least-recently-used cache holding at most `budget` units: each value costs
    size(value) + 1, so size=lambda _: 0 bounds the number of values."""

    def __init__(self, budget: int, size: Callable[[V], int]) -> None:
        self._budget, self._size = budget, size
        self._items: OrderedDict[Hashable, V] = OrderedDict()
        self._used = 0

    def get(self, key: Hashable, compute: Callable[..., V], *args: object) -> V:
        """The value of `key`, computed as compute(*args) when it is not kept."""
        found = self._items.get(key, _MISSING)  # one lookup on a hit, not `in` then `[]`
        if found is not _MISSING:
            self._items.move_to_end(key)
            return cast(V, found)
        value = compute(*args)
        self._items[key] = value
        self._used += self._size(value) + 1
        while self._used > self._budget and len(self._items) > 1:
            _, dropped = self._items.popitem(last=False)
            self._used -= self._size(dropped) + 1
        return value
