"""The three things a virtual client can talk to: the REST API, the widget WebSocket and the floor.

The floor is the least work a bot turn can cost: a greeting through Rasa's REST channel directly (NLU,
policies, tracker store and the bot's small-talk action) plus one in-process retrieval of the question.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Callable, Sequence
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import WebSocketException

from handoff_api.bench.load import Expired, Turn, elapsed_ms
from handoff_api.bench.verdict import judge_rasa, judge_rest, judge_widget
from handoff_api.bench.workload import GREETINGS, ClientPool, Script
from handoff_api.bot_client import replica_for
from handoff_api.http_clients import OneConnectionClients
from knowledge_base.models import Retrieval

MAX_FRAME_BYTES = 1 << 20


class RestTarget:
    """POST /api/v1/conversations, then POST .../{id}/messages per turn, as the client (a client token)."""

    def __init__(
        self,
        clients: OneConnectionClients,
        base_url: str,
        token_for: Callable[[str], str],
        pool: ClientPool,
        timeout: float,
    ) -> None:
        self._clients = clients
        self._base = base_url.rstrip("/")
        self._token_for = token_for
        self._pool = pool
        self._timeout = timeout

    async def session(self, texts: list[str], expired: Expired = lambda: False) -> list[Turn]:
        """One conversation of `texts`; a failed turn ends it."""
        async with self._clients.one() as http:
            return await self._session(http, texts, expired)

    async def _session(self, http: httpx.AsyncClient, texts: list[str], expired: Expired) -> list[Turn]:
        began = time.perf_counter()
        client_id = self._pool.next()
        auth = {"Authorization": f"Bearer {self._token_for(client_id)}"}
        try:
            opened = await http.post(
                f"{self._base}/api/v1/conversations", json={"client_id": client_id}, headers=auth, timeout=self._timeout
            )
        except httpx.HTTPError as exc:
            return [Turn(elapsed_ms(began), f"open: {type(exc).__name__}")]
        if opened.status_code not in {200, 201}:  # 200: the client's open conversation, returned again
            return [Turn(elapsed_ms(began), f"open: HTTP {opened.status_code}")]
        url = f"{self._base}/api/v1/conversations/{opened.json()['id']}/messages"
        turns: list[Turn] = []
        for text in texts:
            if turns and expired():
                break
            began = time.perf_counter()
            try:
                answer = await http.post(url, json={"text": text}, headers=auth, timeout=self._timeout)
                body: Any = answer.json() if answer.status_code == 200 else None
                turn = Turn(elapsed_ms(began), judge_rest(answer.status_code, body))
            except httpx.TimeoutException:
                turn = Turn(elapsed_ms(began), "timeout")
            except (httpx.HTTPError, ValueError) as exc:
                turn = Turn(elapsed_ms(began), type(exc).__name__)
            turns.append(turn)
            if turn.error:
                break
        return turns


class WidgetTarget:
    """One widget WebSocket per session: session, resume {last_seq: 0}, then message/ack per turn."""

    def __init__(self, ws_base: str, token_for: Callable[[str], str], pool: ClientPool, timeout: float) -> None:
        self._url = ws_base.rstrip("/") + "/ws/widget?token="
        self._token_for = token_for
        self._pool = pool
        self._timeout = timeout

    async def session(self, texts: list[str], expired: Expired = lambda: False) -> list[Turn]:
        """One socket for `texts`; a failed turn ends it."""
        turns: list[Turn] = []
        began = time.perf_counter()
        try:
            async with connect(
                self._url + self._token_for(self._pool.next()),
                open_timeout=self._timeout,
                close_timeout=2,
                max_size=MAX_FRAME_BYTES,
                ping_interval=None,
            ) as ws:
                async with asyncio.timeout(self._timeout):
                    await resume(ws)
                for text in texts:
                    if turns and expired():
                        break
                    turn = await self._turn(ws, text)
                    turns.append(turn)
                    if turn.error:
                        break
        except (OSError, TimeoutError, WebSocketException) as exc:
            if not turns or turns[-1].error is None:
                turns.append(Turn(elapsed_ms(began), f"socket: {type(exc).__name__}"))
        return turns

    async def _turn(self, ws: ClientConnection, text: str) -> Turn:
        client_msg_id = uuid.uuid4().hex[:16]
        frames: list[dict[str, Any]] = []
        began = time.perf_counter()
        try:
            await ws.send(json.dumps({"type": "message", "text": text, "client_msg_id": client_msg_id}))
            async with asyncio.timeout(self._timeout):
                while True:
                    frame = json.loads(await ws.recv())
                    frames.append(frame)
                    kind = frame.get("type")
                    if kind == "error" or (kind == "ack" and frame.get("client_msg_id") == client_msg_id):
                        break
        except TimeoutError:
            return Turn(elapsed_ms(began), "timeout")
        except WebSocketException as exc:
            return Turn(elapsed_ms(began), f"socket: {type(exc).__name__}")
        return Turn(elapsed_ms(began), judge_widget(frames, client_msg_id))


async def resume(ws: ClientConnection) -> dict[str, Any]:
    """Read the session envelope, send resume {last_seq: 0} and wait for `resumed`; the session envelope."""
    session: dict[str, Any] = {}
    while not session:
        frame = json.loads(await ws.recv())
        if frame.get("type") == "error":
            raise WebSocketException(f"refused: {frame.get('code')}")
        if frame.get("type") == "session":
            session = frame
    await ws.send(json.dumps({"type": "resume", "last_seq": 0}))
    while json.loads(await ws.recv()).get("type") != "resumed":
        pass
    return session


class FloorTarget:
    """A greeting on Rasa's REST channel (its own sender id per session) plus one in-process retrieval."""

    def __init__(
        self,
        clients: OneConnectionClients,
        rasa_urls: Sequence[str],
        retrieve: Callable[[str], Retrieval],
        script: Script,
        timeout: float,
    ) -> None:
        self._clients = clients
        self._rasa = [url.rstrip("/") for url in rasa_urls]
        self._retrieve = retrieve
        self._script = script
        self._timeout = timeout

    async def session(self, texts: list[str], expired: Expired = lambda: False) -> list[Turn]:
        """One Rasa conversation; each turn greets and retrieves the turn's question."""
        async with self._clients.one() as http:
            return await self._session(http, texts, expired)

    async def _session(self, http: httpx.AsyncClient, texts: list[str], expired: Expired) -> list[Turn]:
        sender = f"bench-floor-{uuid.uuid4().hex}"
        url = f"{self._rasa[replica_for(sender, len(self._rasa))]}/webhooks/rest/webhook"
        turns: list[Turn] = []
        for text in texts:
            if turns and expired():
                break
            question = self._script.question() if text in GREETINGS else text
            began = time.perf_counter()
            try:
                answer = await http.post(url, json={"sender": sender, "message": GREETINGS[0]}, timeout=self._timeout)
                error = judge_rasa(answer.status_code, answer.json() if answer.status_code == 200 else None)
            except httpx.TimeoutException:
                error = "timeout"
            except (httpx.HTTPError, ValueError) as exc:
                error = type(exc).__name__
            rasa_ms = elapsed_ms(began)
            middle = time.perf_counter()
            await asyncio.to_thread(self._retrieve, question)
            turns.append(Turn(elapsed_ms(began), error, (("rasa", rasa_ms), ("retrieve", elapsed_ms(middle)))))
            if error:
                break
        return turns
