"""Integration API keys: named, scoped, stored as SHA-256 verifiers, managed with `python -m handoff_api keys`."""

from __future__ import annotations

from handoff_api.api_keys.keys import ApiKey, InvalidKeyRequest, IssuedKey, Scope, looks_like_key
from handoff_api.api_keys.registry import ApiKeyRegistry
from handoff_api.api_keys.store import ApiKeyStore, KeyNameTaken, SqlApiKeyStore

__all__ = [
    "ApiKey",
    "ApiKeyRegistry",
    "ApiKeyStore",
    "InvalidKeyRequest",
    "IssuedKey",
    "KeyNameTaken",
    "Scope",
    "SqlApiKeyStore",
    "looks_like_key",
]
