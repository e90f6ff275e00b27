"""A tracked set of background tasks: callbacks are acknowledged at once and handled here."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

logger = logging.getLogger(__name__)


class BackgroundTaskSet:
    """Spawns guarded tasks, keeps references to them, and waits for (or cancels) them on shutdown."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[None]] = set()

    def __len__(self) -> int:
        return len(self._tasks)

    def spawn(self, work: Coroutine[Any, Any, object], name: str) -> asyncio.Task[None]:
        """Run work in the background; its exceptions are logged, never raised."""
        task = asyncio.get_running_loop().create_task(self._guard(work, name), name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    @staticmethod
    async def _guard(work: Coroutine[Any, Any, object], name: str) -> None:
        try:
            await work
        except asyncio.CancelledError:
            logger.warning("background task %s cancelled", name)
            raise
        except Exception:
            logger.exception("background task %s failed", name)

    async def join(self) -> None:
        """Wait until every task (including tasks spawned meanwhile) has finished."""
        while self._tasks:
            await asyncio.wait(set(self._tasks))

    async def aclose(self, timeout_seconds: float = 10.0) -> None:
        """Shutdown: let running tasks finish within the timeout, then cancel the rest."""
        try:
            await asyncio.wait_for(self.join(), timeout=timeout_seconds)
        except TimeoutError:
            pending = set(self._tasks)
            logger.warning("cancelling %d unfinished background tasks at shutdown", len(pending))
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
