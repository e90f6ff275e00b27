"""One loop for the API's periodic background passes (routing ticks, WeCom outbox and inbox retries)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

logger = logging.getLogger(__name__)


async def run_every(seconds: float, stop: asyncio.Event, one_pass: Callable[[], Awaitable[object]], name: str) -> None:
    """Run `one_pass` every `seconds` until `stop` is set; a failing pass is logged, never fatal.

    The loop ends between passes instead of being cancelled inside one (a cancelled aiosqlite call
    can leave the engine unable to shut down).
    """
    while not stop.is_set():
        try:
            await one_pass()
        except Exception:
            logger.exception("%s failed", name)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), seconds)
