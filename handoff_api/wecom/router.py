"""WeCom callback endpoint: GET URL verification and POST message callbacks.

Each POST is verified, decrypted, parsed, deduplicated, stored in the inbox and acknowledged with
an empty 200 at once; the handling runs in a tracked background task (WeCom waits at most 5 seconds)
and is retried from the inbox if it fails. A message that cannot be stored gets a 503, so that WeCom
delivers it again.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from fastapi import APIRouter, Request, Response
from fastapi.responses import PlainTextResponse

from handoff_api.wecom.client import SendResult
from handoff_api.wecom.crypto import (
    InvalidSignatureError,
    ReceiveIdMismatchError,
    StaleTimestampError,
    WeComCrypto,
    WeComCryptoError,
)
from handoff_api.wecom.identity import InboundText, SenderKind
from handoff_api.wecom.inbox import InboxRetryPolicy, InboxWorker
from handoff_api.wecom.kf import KF_ORIGIN_CLIENT, KfMessage, kf_from_payload, kf_payload
from handoff_api.wecom.outbox import MemoryOutbox, Outbox
from handoff_api.wecom.parser import (
    EventMessage,
    InboundMessage,
    KfMsgOrEventMessage,
    TextMessage,
    UnsupportedMessage,
    WeComParseError,
    parse_envelope,
    parse_message,
)
from handoff_api.wecom.settings import WeComSettings
from handoff_api.wecom.tasks import BackgroundTaskSet

logger = logging.getLogger(__name__)

DEFAULT_CALLBACK_PATH = "/wecom/callback"
UNSUPPORTED_REPLY = "暂时只支持文字消息，请用文字描述您的问题。"


class IdempotencyStore(Protocol):
    """claim() returns True only the first time a key is seen within ttl_seconds; release() forgets a claim."""

    async def claim(self, key: str, ttl_seconds: int) -> bool: ...

    async def release(self, key: str) -> None: ...


class InboundHandler(Protocol):
    """The conversation flow's entry point for WeCom texts."""

    async def handle_text(self, message: InboundText) -> None: ...


class WeComOutbound(Protocol):
    """The part of WeComClient the callback needs."""

    async def send_text(self, user_ids: Sequence[str], content: str) -> SendResult: ...

    async def send_kf_text(self, external_userid: str, open_kfid: str, content: str) -> SendResult: ...

    async def pull_kf_messages(self, token: str, open_kfid: str) -> list[KfMessage]: ...


@dataclass
class WeComDeps:
    """Everything the callback router needs, supplied by the composition root."""

    crypto: WeComCrypto
    idempotency: IdempotencyStore
    handler: InboundHandler
    outbound: WeComOutbound
    max_body_bytes: int = 64 * 1024
    dedup_ttl_seconds: int = 24 * 3600
    open_kfid: str | None = None
    tasks: BackgroundTaskSet = field(default_factory=BackgroundTaskSet)
    inbox: Outbox = field(default_factory=MemoryOutbox)
    """Accepted messages until handled (the SQL wecom_inbox table in the app)."""
    inbox_retry: InboxRetryPolicy = field(default_factory=InboxRetryPolicy)

    @classmethod
    def from_settings(
        cls,
        settings: WeComSettings,
        *,
        idempotency: IdempotencyStore,
        handler: InboundHandler,
        outbound: WeComOutbound,
        inbox: Outbox | None = None,
        inbox_retry: InboxRetryPolicy | None = None,
    ) -> WeComDeps:
        """Build the crypto (receive id = corp id, skew from settings) and the deps."""
        crypto = WeComCrypto(
            settings.token,
            settings.encoding_aes_key,
            settings.corp_id,
            timestamp_skew_seconds=settings.timestamp_skew_seconds,
        )
        return cls(
            crypto=crypto,
            idempotency=idempotency,
            handler=handler,
            outbound=outbound,
            max_body_bytes=settings.max_body_bytes,
            dedup_ttl_seconds=settings.dedup_ttl_seconds,
            open_kfid=settings.open_kfid or None,
            inbox=inbox or MemoryOutbox(),
            inbox_retry=inbox_retry or InboxRetryPolicy(),
        )


class _RefusedError(Exception):
    def __init__(self, status_code: int, reason: str) -> None:
        super().__init__(reason)
        self.status_code = status_code
        self.reason = reason


_FORBIDDEN = (InvalidSignatureError, StaleTimestampError, ReceiveIdMismatchError)


def _refusal_for(exc: WeComCryptoError | WeComParseError) -> _RefusedError:
    status = 403 if isinstance(exc, _FORBIDDEN) else 400
    return _RefusedError(status, f"{type(exc).__name__}: {exc}")


def _refused_response(request: Request, refusal: _RefusedError) -> Response:
    client = request.client.host if request.client else "unknown"
    logger.warning(
        "wecom callback %s refused with %d from %s: %s",
        request.method,
        refusal.status_code,
        client,
        refusal.reason,
    )
    text = {400: "bad request", 403: "forbidden", 413: "payload too large"}[refusal.status_code]
    return PlainTextResponse(text, status_code=refusal.status_code)


def _query(request: Request, *names: str) -> list[str]:
    values = [request.query_params.get(name) for name in names]
    missing = [name for name, value in zip(names, values, strict=True) if not value]
    if missing:
        raise _RefusedError(400, f"missing query parameters: {', '.join(missing)}")
    return [value for value in values if value]


async def _read_limited_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _RefusedError(413, f"declared body of {declared} bytes exceeds {limit}")
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > limit:
            raise _RefusedError(413, f"body exceeds {limit} bytes")
    return bytes(body)


def classify_sender(user_id: str) -> SenderKind:
    """External contacts' ids start with wm/wo and are long opaque strings; staff ids are set by the corp."""
    looks_external = user_id[:2] in ("wm", "wo") and len(user_id) >= 20 and user_id.isascii()
    return "external_contact" if looks_external else "staff"


def dedup_key(message: InboundMessage) -> str:
    """MsgId when there is one, else the sender + CreateTime + event (kf events: their sync token)."""
    if isinstance(message, KfMsgOrEventMessage):
        return f"wecom:kf_event:{message.open_kfid}:{message.token}"
    if isinstance(message, TextMessage):
        return f"wecom:msg:{message.msg_id}"
    if isinstance(message, UnsupportedMessage) and message.msg_id:
        return f"wecom:msg:{message.msg_id}"
    event = message.event if isinstance(message, EventMessage) else message.msg_type
    return f"wecom:event:{message.from_user_name}:{message.create_time}:{event}"


def _received_at(unix_seconds: int) -> datetime:
    return datetime.fromtimestamp(unix_seconds, UTC)


CALLBACK_ITEM = "callback"
KF_ITEM = "kf"


class CallbackProcessor:
    """Handles verified, deduplicated messages; `inbox` keeps each one until it is handled."""

    def __init__(self, deps: WeComDeps) -> None:
        self._deps = deps
        self.inbox = InboxWorker(deps.inbox, self.handle_item, deps.inbox_retry)

    async def accept_callback(self, xml: str) -> int:
        """Store a decrypted callback message; the id to attempt it with."""
        return await self.inbox.accept(CALLBACK_ITEM, {"xml": xml})

    async def handle_item(self, kind: str, payload: Mapping[str, Any]) -> None:
        """Handle one stored item (a callback message or a pulled kf message)."""
        if kind == CALLBACK_ITEM:
            await self.process(parse_message(str(payload["xml"])))
        elif kind == KF_ITEM:
            await self._kf_message(kf_from_payload(payload))
        else:
            raise ValueError(f"unknown inbox item kind {kind!r}")

    async def process(self, message: InboundMessage) -> None:
        if isinstance(message, TextMessage):
            await self._text(message)
        elif isinstance(message, UnsupportedMessage):
            if classify_sender(message.from_user_name) != "staff":
                # message/send reaches corp members only; an external contact cannot be answered this way
                logger.info("wecom %s message %s from an external contact ignored", message.msg_type, message.msg_id)
                return
            logger.info("wecom %s message %s answered with the text-only notice", message.msg_type, message.msg_id)
            await self._deps.outbound.send_text([message.from_user_name], UNSUPPORTED_REPLY)
        elif isinstance(message, KfMsgOrEventMessage):
            await self._kf_event(message)
        else:
            logger.info("wecom event %s from %s ignored", message.event, message.from_user_name)

    async def _text(self, message: TextMessage) -> None:
        if not message.content.strip():
            logger.info("wecom empty text %s ignored", message.msg_id)
            return
        await self._deps.handler.handle_text(
            InboundText(
                wecom_user_id=message.from_user_name,
                text=message.content,
                msg_id=message.msg_id,
                received_at=_received_at(message.create_time),
                kind=classify_sender(message.from_user_name),
                agent_id=message.agent_id,
            )
        )

    async def _kf_event(self, event: KfMsgOrEventMessage) -> None:
        if self._deps.open_kfid and event.open_kfid != self._deps.open_kfid:
            logger.info("wecom kf event for another account %s ignored", event.open_kfid)
            return
        # The sync cursor has moved past what is pulled, so every client message is stored before any is handled.
        accepted: list[tuple[int, dict[str, Any]]] = []
        for kf_message in await self._deps.outbound.pull_kf_messages(event.token, event.open_kfid):
            if kf_message.origin != KF_ORIGIN_CLIENT:
                continue
            key = f"wecom:kf:{kf_message.msg_id}"
            if not await self._deps.idempotency.claim(key, self._deps.dedup_ttl_seconds):
                continue
            payload = kf_payload(kf_message)
            try:
                accepted.append((await self.inbox.accept(KF_ITEM, payload), payload))
            except Exception:
                await self._deps.idempotency.release(key)
                raise
        for item_id, payload in accepted:
            await self.inbox.attempt(item_id, KF_ITEM, payload)

    async def _kf_message(self, message: KfMessage) -> None:
        if message.msg_type == "text" and message.text and message.text.strip():
            await self._deps.handler.handle_text(
                InboundText(
                    wecom_user_id=message.external_userid,
                    text=message.text,
                    msg_id=message.msg_id,
                    received_at=_received_at(message.send_time),
                    kind="kf",
                    open_kfid=message.open_kfid,
                )
            )
        elif message.msg_type == "event":
            logger.info("wecom kf event message %s ignored", message.msg_id)
        else:
            logger.info("wecom kf %s message %s answered with the text-only notice", message.msg_type, message.msg_id)
            await self._deps.outbound.send_kf_text(message.external_userid, message.open_kfid, UNSUPPORTED_REPLY)


async def _release_quietly(idempotency: IdempotencyStore, key: str) -> None:
    try:
        await idempotency.release(key)
    except Exception:
        logger.exception("wecom: could not release %s; a redelivery will be taken for a duplicate", key)


def make_wecom_router(
    deps: WeComDeps, path: str = DEFAULT_CALLBACK_PATH, processor: CallbackProcessor | None = None
) -> APIRouter:
    """Router with GET (URL verification) and POST (message callback) on `path`."""
    router = APIRouter(tags=["wecom"])
    processor = processor or CallbackProcessor(deps)

    @router.get(path, response_class=PlainTextResponse)
    async def verify_url(request: Request) -> Response:
        try:
            signature, timestamp, nonce, echostr = _query(request, "msg_signature", "timestamp", "nonce", "echostr")
            # A '+' in an unencoded echostr arrives as a space; base64 never contains spaces.
            plaintext = deps.crypto.verify_url(signature, timestamp, nonce, echostr.replace(" ", "+"))
        except WeComCryptoError as exc:
            return _refused_response(request, _refusal_for(exc))
        except _RefusedError as refusal:
            return _refused_response(request, refusal)
        logger.info("wecom callback URL verified")
        return PlainTextResponse(plaintext)

    @router.post(path, response_class=PlainTextResponse)
    async def receive(request: Request) -> Response:
        try:
            signature, timestamp, nonce = _query(request, "msg_signature", "timestamp", "nonce")
            body = await _read_limited_body(request, deps.max_body_bytes)
            envelope = parse_envelope(body)
            xml = deps.crypto.decrypt_message(signature, timestamp, nonce, envelope.encrypt)
            message = parse_message(xml)
        except (WeComCryptoError, WeComParseError) as exc:
            return _refused_response(request, _refusal_for(exc))
        except _RefusedError as refusal:
            return _refused_response(request, refusal)
        key = dedup_key(message)
        if not await deps.idempotency.claim(key, deps.dedup_ttl_seconds):
            logger.info("wecom duplicate delivery %s ignored", key)
            return PlainTextResponse("")
        try:
            item_id = await processor.accept_callback(xml)
        except Exception:
            logger.exception(
                "wecom callback %s could not be stored; answering 503 so that WeCom delivers it again", key
            )
            await _release_quietly(deps.idempotency, key)
            return PlainTextResponse("service unavailable", status_code=503)
        deps.tasks.spawn(processor.inbox.attempt(item_id, CALLBACK_ITEM, {"xml": xml}), name=f"wecom:{key}")
        return PlainTextResponse("")

    return router
