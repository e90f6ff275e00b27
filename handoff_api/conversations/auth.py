"""Who may call the client API, and on which conversations.

Every request carries `Authorization: Bearer <credential>`:
- an integration's API key (`tre_<id>_<secret>`, see handoff_api.api_keys), whose scopes say what it may do
  (conversations:open for any client, conversations:read, conversations:write);
- or a client token (the widget's, signed by the client app's backend), which may open, read and write that
  one client's own conversations only.

A conversation the caller may not see answers exactly like one that does not exist (404, same body), and so
does a client the caller may not open conversations for. Requests are rate limited per API key and per client;
failed authentications per client address (a blocked address gets 429 before its credential is looked at).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from handoff_api.api_keys import ApiKey, Scope, looks_like_key
from handoff_api.client_tokens import InvalidClientToken, read_client_token
from handoff_api.container import Container
from handoff_api.deps import ContainerDep
from handoff_api.rate_limits import RateLimit, Verdict
from routing.errors import NotFound
from routing.models import Conversation

CONVERSATION_NOT_FOUND = "conversation not found"
CLIENT_NOT_FOUND = "client not found"
BEARER = {"WWW-Authenticate": "Bearer"}

_bearer = HTTPBearer(auto_error=False)


@dataclass(frozen=True)
class IntegrationCaller:
    """A firm's backend, by its API key."""

    key: ApiKey

    def allows(self, scope: Scope) -> bool:
        """Whether the key carries `scope`."""
        return self.key.allows(scope)


@dataclass(frozen=True)
class ClientCaller:
    """One client, by a client token: everything on their own conversations, nothing on anyone else's."""

    client_id: str

    def allows(self, scope: Scope) -> bool:
        """A client may open, read and write (their own conversations: see `conversation_for`)."""
        return True


Caller = IntegrationCaller | ClientCaller


def too_many(verdict: Verdict) -> HTTPException:
    """429 with Retry-After."""
    return HTTPException(
        status.HTTP_429_TOO_MANY_REQUESTS,
        f"too many requests; retry after {verdict.retry_after} seconds",
        {"Retry-After": str(verdict.retry_after)},
    )


def not_found(what: str) -> HTTPException:
    """The one 404 for a thing that is unknown or not the caller's."""
    return HTTPException(status.HTTP_404_NOT_FOUND, what)


async def _count(container: Container, limit: RateLimit, key: str) -> None:
    verdict = await container.rate_limiter.hit(limit, key)
    if not verdict.allowed:
        raise too_many(verdict)


async def _refuse(container: Container, address: str, reason: str) -> HTTPException:
    """Count a failed authentication of `address`; 401 (or 429 once the address has failed too often)."""
    verdict = await container.rate_limiter.hit(container.request_limits.auth_failures, address)
    if not verdict.allowed:
        return too_many(verdict)
    return HTTPException(status.HTTP_401_UNAUTHORIZED, reason, BEARER)


async def authenticated_caller(
    request: Request,
    container: ContainerDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Caller:
    """The integration or client making the request; 401 or 429 otherwise."""
    limits = container.request_limits
    address = request.client.host if request.client else "unknown"
    blocked = await container.rate_limiter.check(limits.auth_failures, address)
    if not blocked.allowed:
        raise too_many(blocked)
    if credentials is None or credentials.scheme.lower() != "bearer" or not credentials.credentials:
        raise await _refuse(container, address, "send Authorization: Bearer <API key or client token>")
    presented = credentials.credentials
    now = container.clock.now()
    if looks_like_key(presented):
        key = await container.api_keys.authenticate(presented, now) if container.api_keys else None
        if key is None:
            raise await _refuse(container, address, "invalid API key")
        await _count(container, limits.api_key, key.id)
        return IntegrationCaller(key)
    try:
        identity = read_client_token(container.settings, presented, now)
    except InvalidClientToken as exc:
        raise await _refuse(container, address, f"client token refused: {exc.reason}") from exc
    await _count(container, limits.client, identity.client_id)
    return ClientCaller(identity.client_id)


CallerDep = Annotated[Caller, Depends(authenticated_caller)]


def require(caller: Caller, scope: Scope) -> None:
    """403 unless the caller may do `scope`."""
    if not caller.allows(scope):
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"this API key lacks the scope {scope.value}")


async def client_to_open(container: Container, caller: Caller, requested: str | None) -> str:
    """Whose conversation the caller opens: their own (client), or the one named (integration with the scope)."""
    require(caller, Scope.OPEN)
    if isinstance(caller, ClientCaller):
        if requested not in (None, caller.client_id):
            raise not_found(CLIENT_NOT_FOUND)
        return caller.client_id
    if requested is None:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "client_id: required with an API key")
    await _count(container, container.request_limits.client, requested)
    return requested


async def conversation_for(container: Container, caller: Caller, conversation_id: str) -> Conversation:
    """The conversation if the caller may see it; the same 404 whether it is unknown or someone else's."""
    try:
        conversation = await container.routing.get_conversation(conversation_id)
    except NotFound as exc:
        raise not_found(CONVERSATION_NOT_FOUND) from exc
    if isinstance(caller, ClientCaller) and conversation.client_id != caller.client_id:
        raise not_found(CONVERSATION_NOT_FOUND)
    return conversation


async def readable_conversation(conversation_id: str, container: ContainerDep, caller: CallerDep) -> Conversation:
    """A conversation the caller may read (scope conversations:read)."""
    require(caller, Scope.READ)
    return await conversation_for(container, caller, conversation_id)


async def writable_conversation(conversation_id: str, container: ContainerDep, caller: CallerDep) -> Conversation:
    """A conversation the caller may write into (scope conversations:write); counted against its client."""
    require(caller, Scope.WRITE)
    conversation = await conversation_for(container, caller, conversation_id)
    if isinstance(caller, IntegrationCaller):
        await _count(container, container.request_limits.client, conversation.client_id)
    return conversation


ReadableConversation = Annotated[Conversation, Depends(readable_conversation)]
WritableConversation = Annotated[Conversation, Depends(writable_conversation)]
