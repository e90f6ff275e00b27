"""WeCom callback endpoint: GET URL verification and POST message callbacks.

Each POST is verified, decrypted, parsed, stored in the inbox (which recognises a redelivery by its
MsgId or fallback key, and answers it with 200 without handling it again) and acknowledged with an
empty 200 at once; the handling runs in a tracked background task (WeCom waits at most 5 seconds)
and is retried from the inbox if it fails. A message that cannot be stored gets a 503, so that WeCom
delivers it again.

The router is mounted once, when the app is created; the CallbackProcessor it works with is looked
up on each request (the channel is started later, in the app's lifespan). Until it is there, every
callback gets a 503 and WeCom delivers it again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from fastapi import APIRouter, Request, Response
from fastapi.responses import PlainTextResponse

from handoff_api.wecom.crypto import (
    InvalidSignatureError,
    ReceiveIdMismatchError,
    StaleTimestampError,
    WeComCryptoError,
)
from handoff_api.wecom.parser import WeComParseError, parse_envelope, parse_message
from handoff_api.wecom.processor import CALLBACK_ITEM, CallbackProcessor, dedup_key

logger = logging.getLogger(__name__)

DEFAULT_CALLBACK_PATH = "/wecom/callback"

ProcessorSource = Callable[[Request], CallbackProcessor | None]
"""Finds the started channel's processor for a request; None while the channel is not running."""


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


def _not_started(request: Request) -> Response:
    logger.warning("wecom callback %s before the channel started; answering 503", request.method)
    return PlainTextResponse("service unavailable: the WeCom channel is not running", status_code=503)


def make_wecom_router(source: ProcessorSource, path: str = DEFAULT_CALLBACK_PATH) -> APIRouter:
    """Router with GET (URL verification) and POST (message callback) on `path`."""
    router = APIRouter(tags=["wecom"])

    @router.get(path, response_class=PlainTextResponse)
    async def verify_url(request: Request) -> Response:
        processor = source(request)
        if processor is None:
            return _not_started(request)
        try:
            signature, timestamp, nonce, echostr = _query(request, "msg_signature", "timestamp", "nonce", "echostr")
            # A '+' in an unencoded echostr arrives as a space; base64 never contains spaces.
            plaintext = processor.deps.crypto.verify_url(signature, timestamp, nonce, echostr.replace(" ", "+"))
        except WeComCryptoError as exc:
            return _refused_response(request, _refusal_for(exc))
        except _RefusedError as refusal:
            return _refused_response(request, refusal)
        logger.info("wecom callback URL verified")
        return PlainTextResponse(plaintext)

    @router.post(path, response_class=PlainTextResponse)
    async def receive(request: Request) -> Response:
        processor = source(request)
        if processor is None:
            return _not_started(request)
        deps = processor.deps
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
        try:
            item_id = await processor.accept_callback(key, xml)
        except Exception:
            logger.exception(
                "wecom callback %s could not be stored; answering 503 so that WeCom delivers it again", key
            )
            return PlainTextResponse("service unavailable", status_code=503)
        if item_id is None:
            logger.info("wecom duplicate delivery %s ignored", key)
            return PlainTextResponse("")
        deps.tasks.spawn(processor.inbox.attempt(item_id, CALLBACK_ITEM, {"xml": xml}), name=f"wecom:{key}")
        return PlainTextResponse("")

    return router
