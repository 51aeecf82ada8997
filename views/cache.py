"""One build per view, shared by every session that opens the same link.

A tumor board opens one link within seconds: the first session builds the view
model, the others wait for that build and share it. Entries are bounded in
number and in age, so memory stays flat however many distinct views are opened.
Cached models are never mutated by their readers (pages only render them).
"""
from __future__ import annotations

import threading
import time
from collections import OrderedDict
from typing import Any, Callable, Hashable

MAX_ENTRIES = 256          # distinct views kept: ~170 KiB of heap each, 300 views 49 MiB (benchmarks/view_cache_memory.py)
TTL_SECONDS = 6 * 3600     # a view unused for a working day's half is rebuilt on its next visit


class ViewCache:
    def __init__(self, max_entries: int = MAX_ENTRIES, ttl_seconds: float = TTL_SECONDS,
                 clock: Callable[[], float] = time.monotonic):
        self.max_entries = max_entries
        self.ttl_seconds = ttl_seconds
        self._clock = clock
        self._entries: OrderedDict[Hashable, tuple[float, Any]] = OrderedDict()
        self._building: dict[Hashable, threading.Lock] = {}
        self._lock = threading.Lock()
        self.builds = 0
        self.hits = 0

    def _fresh(self, key) -> tuple[bool, Any]:
        entry = self._entries.get(key)
        if entry is None:
            return False, None
        born, value = entry
        if self._clock() - born > self.ttl_seconds:
            del self._entries[key]
            return False, None
        self._entries.move_to_end(key)
        return True, value

    def get_or_build(self, key: Hashable, build: Callable[[], Any]) -> Any:
        with self._lock:
            found, value = self._fresh(key)
            if found:
                self.hits += 1
                return value
            key_lock = self._building.setdefault(key, threading.Lock())
        # sessions asking for the same view while it is built wait here, then share it
        with key_lock:
            with self._lock:
                found, value = self._fresh(key)
                if found:
                    self.hits += 1
                    return value
            value = build()     # an exception leaves nothing cached and reaches the caller
            with self._lock:
                self.builds += 1
                self._entries[key] = (self._clock(), value)
                while len(self._entries) > self.max_entries:
                    self._entries.popitem(last=False)
                self._building.pop(key, None)
        return value

    def __len__(self) -> int:
        return len(self._entries)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
