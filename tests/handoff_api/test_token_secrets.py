"""Token secrets: separate per purpose, and in development a random secret of this machine instead of a constant."""

from __future__ import annotations

import stat
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from handoff_api.client_tokens import InvalidClientToken, issue_client_token, read_client_token
from handoff_api.settings import Settings
from handoff_api.token_secrets import (
    SecretFileError,
    client_token_secret,
    development_secret,
    staff_token_secret,
)


@pytest.fixture(autouse=True)
def fresh_cache() -> Iterator[None]:
    development_secret.cache_clear()
    yield
    development_secret.cache_clear()


def development(secret_file: Path, **changes: Any) -> Settings:
    return Settings(_env_file=None, secret_file=secret_file, **changes)


def test_without_secret_key_development_makes_a_private_secret_once(tmp_path: Path) -> None:
    path = tmp_path / "var" / "secret_key"
    staff, client = staff_token_secret(development(path)), client_token_secret(development(path))
    assert path.is_file() and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert staff != client and len(path.read_text().strip()) >= 32
    development_secret.cache_clear()
    assert staff_token_secret(development(path)) == staff  # the next start (or another worker) reads the same


def test_each_machine_signs_with_its_own_secret(tmp_path: Path) -> None:
    mine, theirs = development(tmp_path / "a" / "secret_key"), development(tmp_path / "b" / "secret_key")
    token = issue_client_token(theirs, "C10001", datetime.now(UTC))
    with pytest.raises(InvalidClientToken, match="invalid token"):
        read_client_token(mine, token, datetime.now(UTC))


def test_workers_starting_together_agree_on_one_secret(tmp_path: Path) -> None:
    path = tmp_path / "secret_key"
    seen: list[str] = []
    barrier = threading.Barrier(8)

    def start() -> None:
        barrier.wait()
        seen.append(development_secret.__wrapped__(path))

    threads = [threading.Thread(target=start) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(seen)) == 1 and seen[0] == path.read_text().strip()
    assert [p.name for p in tmp_path.iterdir()] == ["secret_key"]  # no drafts left behind


def test_a_readable_secret_file_is_made_private_and_a_damaged_one_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "secret_key"
    path.write_text("x" * 64)
    path.chmod(0o644)
    assert development_secret(path) == "x" * 64 and stat.S_IMODE(path.stat().st_mode) == 0o600
    development_secret.cache_clear()
    path.write_text("short")
    with pytest.raises(SecretFileError, match="delete it to make a new one"):
        development_secret(path)


def test_explicit_secrets_are_used_as_given_and_secret_key_derives_both(tmp_path: Path) -> None:
    explicit = development(tmp_path / "unused", staff_token_secret="s" * 40, client_token_secret="c" * 40)
    assert (staff_token_secret(explicit), client_token_secret(explicit)) == ("s" * 40, "c" * 40)
    assert not (tmp_path / "unused").exists()
    derived = development(tmp_path / "unused", secret_key="k" * 40)
    again = development(tmp_path / "elsewhere", secret_key="k" * 40)
    assert staff_token_secret(derived) == staff_token_secret(again) != client_token_secret(derived)
    assert "k" * 40 not in (staff_token_secret(derived), client_token_secret(derived))
