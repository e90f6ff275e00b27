"""Talks to the Rasa server over its REST channel and normalises its replies into payloads."""

from __future__ import annotations

import contextlib
import hashlib
import logging
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

import httpx

from handoff_api.client_input import ClientInput, HumanRequest, Rating
from handoff_api.http_clients import OneConnectionClients
from handoff_api.settings import RASA_KEEPALIVE_SECONDS

log = logging.getLogger(__name__)

FEEDBACK_TRIGGERS = {True: "/feedback_resolved", False: "/feedback_unresolved"}
"""Rasa's way to name an intent directly: what a click on the bot's rating buttons sends."""
HUMAN_REQUEST_TRIGGER = "/ask_human"

BotPayload = dict[str, Any]


RASA_CONNECTIONS = 100
"""Turns in flight to Rasa at once (more wait their turn), each on a kept-alive connection of its own
(`OneConnectionClients`).

httpx's default pool keeps 20 and closes the rest after each turn, so above 20 concurrent turns every turn paid
for a new TCP connection on both sides; and one pool of a hundred walks all of them on every request."""


class BotUnavailable(RuntimeError):
    """The bot could not be reached or answered with an error."""


class BotClient(Protocol):
    """What the conversation flow needs from tier 1."""

    async def send(self, conversation_id: str, text: str) -> list[BotPayload]: ...

    async def ping(self) -> bool: ...


def rasa_trigger(turn: ClientInput) -> str:
    """The message Rasa receives for a client turn: the text, or the intent a click stands for."""
    if isinstance(turn, Rating):
        return FEEDBACK_TRIGGERS[turn.resolved]
    if isinstance(turn, HumanRequest):
        return HUMAN_REQUEST_TRIGGER
    return turn.text


def normalise_replies(replies: Sequence[Mapping[str, Any]]) -> list[BotPayload]:
    """Turn Rasa REST replies into typed payloads: `custom` as sent, plain text wrapped as type text."""
    payloads: list[BotPayload] = []
    for reply in replies:
        custom = reply.get("custom")
        if isinstance(custom, Mapping) and isinstance(custom.get("type"), str):
            payloads.append(dict(custom))
            continue
        text = reply.get("text")
        if isinstance(text, str) and text.strip():
            payload: BotPayload = {"type": "text", "text": text}
            if reply.get("buttons"):
                payload["buttons"] = list(reply["buttons"])
            payloads.append(payload)
    return payloads


def replica_for(conversation_id: str, replicas: int) -> int:
    """Which replica serves a conversation: stable across processes and restarts (not Python's hash)."""
    digest = hashlib.blake2b(conversation_id.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big") % replicas


class RasaRestClient:
    """Rasa's REST input channel: POST /webhooks/rest/webhook {sender, message}.

    With several replicas each conversation goes to the same one (sticky by conversation id), and to the next
    when that one cannot be reached (the shared tracker and lock stores make a change of replica safe).

    Idle connections are kept `keepalive_seconds` (less than Rasa's 120 s). A connection opened while Rasa is busy
    waits until Rasa has caught up: on the embedded default at a hundred turns in flight, seconds, where a kept one
    answered in 80 ms. So a lull of a few seconds must not close them (httpx's default keeps them 5 s)."""

    def __init__(
        self,
        base_urls: str | Sequence[str],
        timeout_seconds: float,
        http: httpx.AsyncClient | None = None,
        auth_token: str | None = None,
        keepalive_seconds: float = RASA_KEEPALIVE_SECONDS,
    ) -> None:
        urls = [base_urls] if isinstance(base_urls, str) else list(base_urls)
        self._base_urls = [url.rstrip("/") for url in urls if url.strip()]
        if not self._base_urls:
            raise ValueError("at least one Rasa URL is needed")
        self._auth = {"token": auth_token} if auth_token else {}
        self._http = http
        self._clients = (
            OneConnectionClients(RASA_CONNECTIONS, keepalive_seconds, timeout=timeout_seconds) if http is None else None
        )

    def _client(self, base_url: str) -> contextlib.AbstractAsyncContextManager[httpx.AsyncClient]:
        """The client given at construction, or one of this object's own for the replica at `base_url`."""
        if self._clients is None:
            assert self._http is not None
            return contextlib.nullcontext(self._http)
        return self._clients.one(base_url)

    def base_url_for(self, conversation_id: str) -> str:
        """The replica that serves this conversation."""
        return self._base_urls[replica_for(conversation_id, len(self._base_urls))]

    def replicas_for(self, conversation_id: str) -> list[str]:
        """The conversation's replica first, then the others in ring order (tried when it cannot be reached)."""
        first = replica_for(conversation_id, len(self._base_urls))
        return [self._base_urls[(first + step) % len(self._base_urls)] for step in range(len(self._base_urls))]

    async def send(self, conversation_id: str, text: str) -> list[BotPayload]:
        """Send one client message and return the bot's payloads.

        A replica that cannot be reached (refused, or no connection in time) never saw the message, so the next
        one takes it: the shared tracker store holds the dialogue state. Any other failure is BotUnavailable.
        """
        last: httpx.HTTPError | None = None
        for base_url in self.replicas_for(conversation_id):
            try:
                return await self._send_to(base_url, conversation_id, text)
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
                log.warning("rasa unreachable at %s: %s", base_url, exc.__class__.__name__)
                last = exc
        assert last is not None
        raise BotUnavailable(f"Rasa server unreachable: {last.__class__.__name__}") from last

    async def _send_to(self, base_url: str, conversation_id: str, text: str) -> list[BotPayload]:
        url = f"{base_url}/webhooks/rest/webhook"
        try:
            async with self._client(base_url) as http:
                response = await http.post(url, json={"sender": conversation_id, "message": text})
        except (httpx.ConnectError, httpx.ConnectTimeout):
            raise
        except httpx.HTTPError as exc:
            log.warning("rasa unreachable at %s: %s", base_url, exc.__class__.__name__)
            raise BotUnavailable(f"Rasa server unreachable: {exc.__class__.__name__}") from exc
        if response.status_code != 200:
            log.warning("rasa answered %s", response.status_code)
            raise BotUnavailable(f"Rasa server answered HTTP {response.status_code}")
        try:
            body = response.json()
        except ValueError as exc:
            raise BotUnavailable("Rasa server answered with invalid JSON") from exc
        if not isinstance(body, list):
            raise BotUnavailable("Rasa server answered with an unexpected body")
        return normalise_replies([item for item in body if isinstance(item, Mapping)])

    async def ping(self) -> bool:
        """True when every Rasa replica answers and has a model loaded."""
        return all([await self._ping(url) for url in self._base_urls])

    async def _ping(self, base_url: str) -> bool:
        try:
            async with self._client(base_url) as http:
                response = await http.get(f"{base_url}/status", params=self._auth, timeout=2.0)
        except httpx.HTTPError:
            return False
        if response.status_code != 200:
            return False
        try:
            return bool(response.json().get("model_file"))
        except ValueError:
            return False

    async def aclose(self) -> None:
        """Close the HTTP clients this object made (not one it was given)."""
        if self._clients is not None:
            await self._clients.aclose()
