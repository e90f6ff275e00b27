"""Password checks for staff sign-in, on a small executor of their own.

argon2 takes tens of milliseconds of CPU on purpose; running it on the default executor would make
sign-ins queue behind (and slow down) retrieval work. `PasswordVerifier` owns a ThreadPoolExecutor of
PASSWORD_HASH_THREADS (1-2) threads. An unknown id is verified against a dummy hash, so a wrong id and a
wrong password cost the same and timing does not tell which ids exist.
"""

from __future__ import annotations

import asyncio
import secrets
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from routing.passwords import hash_password, verify_password

MIN_NEW_PASSWORD_LENGTH = 10
"""A password chosen in the console (change) needs at least this many characters."""

Verify = Callable[[str | None, str], bool]


class PasswordVerifier:
    """Verifies and hashes passwords on its own threads."""

    def __init__(self, threads: int = 1, verify: Verify = verify_password) -> None:
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="argon2")
        self._verify = verify
        self._dummy: str | None = None
        self._dummy_lock = threading.Lock()

    def _dummy_hash(self) -> str:
        """A hash of a random password nobody knows (made once, on the pool)."""
        with self._dummy_lock:
            if self._dummy is None:
                self._dummy = hash_password(secrets.token_urlsafe(24))
            return self._dummy

    def _check(self, stored_hash: str | None, password: str) -> bool:
        if stored_hash is None:
            self._verify(self._dummy_hash(), password)  # the same work for an id that does not exist
            return False
        return self._verify(stored_hash, password)

    async def verify(self, stored_hash: str | None, password: str) -> bool:
        """Whether `password` matches; None (unknown id, or no password set) verifies a dummy and is False."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, self._check, stored_hash, password)

    async def hash(self, password: str) -> str:
        """An argon2id hash (routing.passwords rules; WeakPassword if not acceptable)."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, hash_password, password)

    def close(self) -> None:
        """Stop the threads (at shutdown)."""
        self._pool.shutdown(wait=False, cancel_futures=True)
