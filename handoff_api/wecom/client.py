"""Async WeCom API client: cached access token, message/send, 微信客服 kf/send_msg and kf/sync_msg pages.

Network errors and rate-limit codes are retried with exponential backoff; a message that still
cannot be sent goes to the Outbox (see OutboxDrainer). Secrets and tokens are never logged.
"""

from __future__ import annotations

import asyncio
import logging
import re
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from typing import Any

import httpx

from handoff_api.wecom.kf import KfSyncPage, kf_message_from_api
from handoff_api.wecom.outbox import Outbox
from handoff_api.wecom.settings import DEFAULT_API_BASE_URL, WeComSettings
from handoff_api.wecom.text import TEXT_MAX_BYTES, split_text, truncate_utf8
from handoff_api.wecom.token_cache import TokenCache, token_key
from routing.memory import SystemClock
from routing.ports import Clock

logger = logging.getLogger(__name__)

TOKEN_ERRCODES = frozenset({40001, 40014, 42001})
RETRYABLE_ERRCODES = frozenset({-1, 45009, 45033})
TOKEN_EXPIRY_MARGIN_SECONDS = 300
TEXTCARD_TITLE_MAX_BYTES = 128
TEXTCARD_DESCRIPTION_MAX_BYTES = 512


class OutboundKind(StrEnum):
    MESSAGE_SEND = "message_send"
    KF_SEND_MSG = "kf_send_msg"


_PATHS = {
    OutboundKind.MESSAGE_SEND: "/cgi-bin/message/send",
    OutboundKind.KF_SEND_MSG: "/cgi-bin/kf/send_msg",
}


class WeComSendError(Exception):
    """A WeCom API call failed; retryable says whether trying again later may succeed."""

    def __init__(self, reason: str, *, errcode: int | None = None, retryable: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.errcode = errcode
        self.retryable = retryable


class _TokenRejectedError(Exception):
    def __init__(self, errcode: int) -> None:
        super().__init__(f"errcode {errcode}")
        self.errcode = errcode


class SendStatus(StrEnum):
    SENT = "sent"
    QUEUED = "queued"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class SendResult:
    """Outcome of one logical send (possibly several chunks): sent now, queued in the outbox, or given up."""

    status: SendStatus
    chunks: int
    outbox_ids: tuple[int, ...] = ()


_SECRET_QUERY = re.compile(r"(access_token|corpsecret)=[^&\s\"']*")


class RedactSecretsFilter(logging.Filter):
    """Masks access_token and corpsecret query values in records (httpx logs request URLs at INFO)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "access_token=" in message or "corpsecret=" in message:
            record.msg = _SECRET_QUERY.sub(r"\1=***", message)
            record.args = None
        return True


def install_log_redaction() -> None:
    """Attach RedactSecretsFilter to the httpx loggers once."""
    for name in ("httpx", "httpcore"):
        target = logging.getLogger(name)
        if not any(isinstance(existing, RedactSecretsFilter) for existing in target.filters):
            target.addFilter(RedactSecretsFilter())


class WeComClient:
    """Outbound WeCom API for one application (corp id + agent id + secret)."""

    def __init__(
        self,
        *,
        corp_id: str,
        secret: str,
        agent_id: int,
        token_cache: TokenCache,
        outbox: Outbox,
        base_url: str = DEFAULT_API_BASE_URL,
        http: httpx.AsyncClient | None = None,
        max_attempts: int = 3,
        backoff_base_seconds: float = 0.5,
        backoff_cap_seconds: float = 4.0,
        outbox_retry_delay_seconds: float = 30.0,
        timeout_seconds: float = 5.0,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Clock | None = None,
    ) -> None:
        if not corp_id or not secret:
            raise ValueError("corp_id and secret are required")
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self._corp_id = corp_id
        self._secret = secret
        self._agent_id = agent_id
        self._token_cache = token_cache
        self._outbox = outbox
        self._base_url = base_url.rstrip("/")
        self._owns_http = http is None
        self._http = http or httpx.AsyncClient(timeout=timeout_seconds)
        self._max_attempts = max_attempts
        self._backoff_base = backoff_base_seconds
        self._backoff_cap = backoff_cap_seconds
        self._outbox_delay = timedelta(seconds=outbox_retry_delay_seconds)
        self._sleep = sleep
        self._clock = clock or SystemClock()
        self._token_lock = asyncio.Lock()
        self.gettoken_calls = 0
        install_log_redaction()

    @classmethod
    def from_settings(
        cls,
        settings: WeComSettings,
        *,
        token_cache: TokenCache,
        outbox: Outbox,
        http: httpx.AsyncClient | None = None,
    ) -> WeComClient:
        """Build the client from the channel settings."""
        return cls(
            corp_id=settings.corp_id,
            secret=settings.secret,
            agent_id=settings.agent_id,
            token_cache=token_cache,
            outbox=outbox,
            base_url=settings.api_base_url,
            http=http,
        )

    def __repr__(self) -> str:
        return f"WeComClient(corp_id={self._corp_id!r}, agent_id={self._agent_id}, base_url={self._base_url!r})"

    async def aclose(self) -> None:
        """Close the HTTP client if this object created it."""
        if self._owns_http:
            await self._http.aclose()

    # --- access token -------------------------------------------------------------------------

    async def access_token(self, *, rejected: str | None = None) -> str:
        """The cached token, fetched when missing; with rejected=token, replace that token."""
        key = token_key(self._corp_id, self._agent_id)
        async with self._token_lock:
            cached = await self._token_cache.get(key)
            if cached is not None and cached != rejected:
                return cached
            token, expires_in = await self._fetch_token()
            ttl = expires_in - TOKEN_EXPIRY_MARGIN_SECONDS if expires_in > 2 * TOKEN_EXPIRY_MARGIN_SECONDS else 60
            await self._token_cache.set(key, token, max(ttl, 1))
            return token

    async def _fetch_token(self) -> tuple[str, int]:
        self.gettoken_calls += 1
        try:
            response = await self._http.get(
                f"{self._base_url}/cgi-bin/gettoken",
                params={"corpid": self._corp_id, "corpsecret": self._secret},
            )
        except httpx.HTTPError as exc:
            raise WeComSendError(f"gettoken network error: {type(exc).__name__}", retryable=True) from exc
        body = self._json_body(response, "gettoken")
        errcode = int(body.get("errcode", 0))
        if errcode != 0 or not body.get("access_token"):
            raise WeComSendError(
                f"gettoken errcode {errcode}", errcode=errcode, retryable=errcode in RETRYABLE_ERRCODES
            )
        logger.info("wecom access token refreshed for agent %s", self._agent_id)
        return str(body["access_token"]), int(body.get("expires_in", 7200))

    @staticmethod
    def _json_body(response: httpx.Response, what: str) -> dict[str, Any]:
        if response.status_code >= 500:
            raise WeComSendError(f"{what} HTTP {response.status_code}", retryable=True)
        if response.status_code != 200:
            raise WeComSendError(f"{what} HTTP {response.status_code}", retryable=False)
        try:
            body = response.json()
        except ValueError as exc:
            raise WeComSendError(f"{what} answered non-JSON", retryable=True) from exc
        if not isinstance(body, dict):
            raise WeComSendError(f"{what} answered non-object JSON", retryable=True)
        return body

    # --- API calls with retries --------------------------------------------------------------

    async def _post_once(self, path: str, payload: Mapping[str, Any], token: str) -> dict[str, Any]:
        try:
            response = await self._http.post(
                f"{self._base_url}{path}", params={"access_token": token}, json=dict(payload)
            )
        except httpx.HTTPError as exc:
            raise WeComSendError(f"{path} network error: {type(exc).__name__}", retryable=True) from exc
        body = self._json_body(response, path)
        errcode = int(body.get("errcode", 0))
        if errcode in TOKEN_ERRCODES:
            raise _TokenRejectedError(errcode)
        if errcode != 0:
            raise WeComSendError(
                f"{path} errcode {errcode}: {str(body.get('errmsg', ''))[:200]}",
                errcode=errcode,
                retryable=errcode in RETRYABLE_ERRCODES,
            )
        return body

    async def _call(self, path: str, payload: Mapping[str, Any], max_attempts: int) -> dict[str, Any]:
        """POST with one token refresh on token errcodes and backoff retries on transient failures."""
        refreshed = False
        attempt = 0
        rejected: str | None = None
        while True:
            attempt += 1
            try:
                token = await self.access_token(rejected=rejected)
                return await self._post_once(path, payload, token)
            except _TokenRejectedError as exc:
                if refreshed:
                    raise WeComSendError(
                        f"{path} token rejected after refresh", errcode=exc.errcode, retryable=True
                    ) from exc
                logger.info("wecom token rejected (errcode %s); refreshing once", exc.errcode)
                refreshed, rejected = True, token
                attempt -= 1
            except WeComSendError as exc:
                if not exc.retryable or attempt >= max_attempts:
                    raise
                delay = min(self._backoff_cap, self._backoff_base * 2 ** (attempt - 1))
                logger.warning("wecom %s failed (%s); retry %d in %.2fs", path, exc.reason, attempt, delay)
                await self._sleep(delay)

    async def deliver(self, kind: str, payload: Mapping[str, Any], *, max_attempts: int | None = None) -> None:
        """Send one stored request body now; raises WeComSendError when it fails."""
        path = _PATHS[OutboundKind(kind)]
        body = await self._call(path, payload, max_attempts or self._max_attempts)
        invalid = [body.get(name) for name in ("invaliduser", "invalidparty", "invalidtag") if body.get(name)]
        if invalid:
            logger.warning("wecom %s accepted with invalid recipients (%d lists)", kind, len(invalid))

    async def _send_all(self, kind: OutboundKind, payloads: Sequence[Mapping[str, Any]]) -> SendResult:
        """Send payloads in order; from the first failure on, the rest go to the outbox to keep order."""
        queued: list[int] = []
        failed = False
        retry_at = self._clock.now() + self._outbox_delay
        for payload in payloads:
            if queued:
                queued.append(await self._outbox.add(kind, payload, next_attempt_at=retry_at))
                continue
            try:
                await self.deliver(kind, payload)
            except WeComSendError as exc:
                retry_at = self._clock.now() + self._outbox_delay
                message_id = await self._outbox.add(
                    kind,
                    payload,
                    next_attempt_at=retry_at,
                    attempts=1,
                    last_error=exc.reason,
                )
                queued.append(message_id)
                if not exc.retryable:
                    await self._outbox.mark_failed(message_id, exc.reason, None)
                    failed = True
                    logger.error("wecom %s refused permanently (%s); kept as outbox #%d", kind, exc.reason, message_id)
                else:
                    logger.warning("wecom %s not sent (%s); queued as outbox #%d", kind, exc.reason, message_id)
        if not queued:
            return SendResult(SendStatus.SENT, len(payloads))
        return SendResult(SendStatus.FAILED if failed else SendStatus.QUEUED, len(payloads), tuple(queued))

    # --- public senders -------------------------------------------------------------------------

    async def send_text(self, user_ids: Sequence[str], content: str) -> SendResult:
        """message/send text to staff members (WeCom user ids), split into 2048-byte chunks."""
        touser = self._touser(user_ids)
        payloads = [
            {"touser": touser, "msgtype": "text", "agentid": self._agent_id, "text": {"content": chunk}}
            for chunk in split_text(content, TEXT_MAX_BYTES)
        ]
        return await self._send_all(OutboundKind.MESSAGE_SEND, payloads)

    async def send_textcard(
        self, user_ids: Sequence[str], title: str, description: str, url: str, button_text: str = "详情"
    ) -> SendResult:
        """message/send textcard (title, description, link) to staff members."""
        if not title.strip() or not url:
            raise ValueError("a textcard needs a title and a url")
        payload = {
            "touser": self._touser(user_ids),
            "msgtype": "textcard",
            "agentid": self._agent_id,
            "textcard": {
                "title": truncate_utf8(title, TEXTCARD_TITLE_MAX_BYTES),
                "description": truncate_utf8(description, TEXTCARD_DESCRIPTION_MAX_BYTES),
                "url": url,
                "btntxt": button_text,
            },
        }
        return await self._send_all(OutboundKind.MESSAGE_SEND, [payload])

    async def send_kf_text(self, external_userid: str, open_kfid: str, content: str) -> SendResult:
        """微信客服 kf/send_msg text to a client; each chunk carries a stable msgid (idempotent resend)."""
        if not external_userid or not open_kfid:
            raise ValueError("external_userid and open_kfid are required")
        payloads = [
            {
                "touser": external_userid,
                "open_kfid": open_kfid,
                "msgid": uuid.uuid4().hex,
                "msgtype": "text",
                "text": {"content": chunk},
            }
            for chunk in split_text(content, TEXT_MAX_BYTES)
        ]
        return await self._send_all(OutboundKind.KF_SEND_MSG, payloads)

    async def sync_kf_page(self, token: str, open_kfid: str, cursor: str | None) -> KfSyncPage:
        """One kf/sync_msg call from cursor (None: from the oldest kept); the caller stores the next cursor."""
        request: dict[str, Any] = {"token": token, "open_kfid": open_kfid, "limit": 1000}
        if cursor:
            request["cursor"] = cursor
        body = await self._call("/cgi-bin/kf/sync_msg", request, self._max_attempts)
        messages = [kf_message_from_api(item) for item in body.get("msg_list", []) if isinstance(item, dict)]
        return KfSyncPage(messages, str(body.get("next_cursor") or "") or None, bool(body.get("has_more")))

    @staticmethod
    def _touser(user_ids: Sequence[str]) -> str:
        ids = [user_id for user_id in user_ids if user_id]
        if not ids or len(ids) > 1000:
            raise ValueError("give 1..1000 WeCom user ids")
        if any("|" in user_id for user_id in ids):
            raise ValueError("a WeCom user id cannot contain '|'")
        return "|".join(ids)
