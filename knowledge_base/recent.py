"""The retrievals of recent questions: the same question on the same day from the same index gets the same
answer, so it is looked up instead of scored again (clients ask the same questions again and again).

An entry remembers the index snapshot it was scored on and counts only while that snapshot is served; a
swap to a new index forgets everything (`forget`). The least recently used entries are dropped beyond
`size`. Thread-safe: retrievals run on a thread pool.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from datetime import date

from knowledge_base.models import Retrieval

Key = tuple[date, str, int]
"""The day (entries have validity dates), the question and how many hits were asked for."""


class RecentRetrievals:
    """Retrievals of recent questions by (day, question, k), each tied to the snapshot that scored it."""

    def __init__(self, size: int) -> None:
        if size < 1:
            raise ValueError("a retrieval cache holds at least one retrieval")
        self._size = size
        self._found: OrderedDict[Key, tuple[object, Retrieval]] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key: Key, snapshot: object) -> Retrieval | None:
        """The retrieval remembered for `key` if `snapshot` scored it, else None."""
        with self._lock:
            found = self._found.get(key)
            if found is None or found[0] is not snapshot:
                self.misses += 1
                return None
            self._found.move_to_end(key)
            self.hits += 1
            return found[1]

    def put(self, key: Key, snapshot: object, retrieval: Retrieval) -> None:
        """Remember `retrieval`, scored on `snapshot`, for `key`."""
        with self._lock:
            self._found[key] = (snapshot, retrieval)
            self._found.move_to_end(key)
            while len(self._found) > self._size:
                self._found.popitem(last=False)

    def forget(self) -> None:
        """Drop every retrieval (the index was replaced)."""
        with self._lock:
            self._found.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._found)
