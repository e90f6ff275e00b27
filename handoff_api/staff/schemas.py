"""HTTP shapes of the staff API."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from handoff_api.inputs import CleanText, RequestBody
from handoff_api.masking import mask_identifier, mask_name, mask_text
from handoff_api.schemas import ConversationOut, MessageOut
from routing.models import Client, Presence, QueueName, Staff
from routing.service import QueueItem


class Login(RequestBody):
    """Staff credentials."""

    staff_id: CleanText = Field(min_length=1, max_length=64)
    password: CleanText = Field(min_length=1, max_length=256)


class StaffOut(BaseModel):
    """A staff member as the console shows them."""

    id: str
    name: str
    role: str
    skills: list[str]
    max_concurrency: int
    practice_number: str | None
    branch: str

    @classmethod
    def of(cls, staff: Staff) -> StaffOut:
        """From the domain record."""
        return cls(
            id=staff.id,
            name=staff.name,
            role=staff.role.value,
            skills=sorted(skill.value for skill in staff.skills),
            max_concurrency=staff.max_concurrency,
            practice_number=staff.practice_number,
            branch=staff.branch,
        )


class TokenOut(BaseModel):
    """A bearer token for the staff API."""

    access_token: str
    token_type: str = "bearer"
    expires_in: int
    staff: StaffOut


class ColleagueOut(StaffOut):
    """A colleague one can transfer to, and whether they are online."""

    presence: str


class MeOut(StaffOut):
    """The signed-in staff member with presence and load."""

    presence: str
    active: int


class ClientCard(BaseModel):
    """A client profile card; personal identifiers are masked."""

    id: str
    name: str
    tier: str
    vip: bool
    branch: str
    responder_id: str
    wecom_id: str | None

    @classmethod
    def of(cls, client: Client) -> ClientCard:
        """From the domain record, masking the WeCom id."""
        return cls(
            id=client.id,
            name=client.name,
            tier=client.tier,
            vip=client.vip,
            branch=client.branch,
            responder_id=client.responder_id,
            wecom_id=mask_identifier(client.wecom_id) if client.wecom_id else None,
        )


class QueueItemOut(BaseModel):
    """A waiting conversation, as every skilled colleague sees it: client name, id and question masked.

    Whoever claims or opens the conversation sees it whole in its detail (and the opening is audited).
    """

    position: int
    conversation_id: str
    ticket_id: str
    queue: str
    vip: bool
    priority: int
    client: dict[str, object]
    question: str
    reason: str
    enqueued_at: datetime
    waiting_seconds: float

    @classmethod
    def of(cls, item: QueueItem) -> QueueItemOut:
        """From routing's view."""
        return cls(
            position=item.position,
            conversation_id=item.conversation_id,
            ticket_id=item.ticket_id,
            queue=item.queue.value,
            vip=item.vip,
            priority=item.priority,
            client={
                "id": mask_identifier(item.client_id),
                "name": mask_name(item.client_name),
                "tier": item.client_tier,
                "vip": item.vip,
            },
            question=mask_text(item.question),
            reason=item.reason.value,
            enqueued_at=item.enqueued_at,
            waiting_seconds=round(item.waiting_seconds, 1),
        )


class TicketOut(BaseModel):
    """The escalation episode behind a conversation."""

    id: str
    queue: str | None
    reason: str
    question: str
    status: str
    tier: int
    enqueued_at: datetime
    responder_step: int
    responder_deadline: datetime | None


class ConversationDetail(BaseModel):
    """Everything the console shows for one conversation."""

    conversation: ConversationOut
    client: ClientCard
    ticket: TicketOut | None
    transcript: list[MessageOut]
    """A page of the transcript in seq order: the newest by default."""
    has_older: bool = False
    """Older messages remain: ask again with `before` set to the first seq shown."""


class Reply(RequestBody):
    """A staff member's answer."""

    text: CleanText
    reply_id: CleanText | None = Field(
        default=None,
        min_length=1,
        max_length=64,
        description="the console's own id for this reply: sent again after a lost answer, it is stored once",
    )


class Transfer(RequestBody):
    """Transfer to the other queue or to a colleague (exactly one)."""

    queue: QueueName | None = None
    staff_id: CleanText | None = Field(default=None, min_length=1, max_length=64)


class PresenceIn(RequestBody):
    """Presence switch."""

    presence: Presence


class KbHitOut(BaseModel):
    """An agent-assist suggestion from the knowledge base."""

    faq_id: str
    question: str
    answer: str
    category: str
    score: float


class SessionTokens(TokenOut):
    """An access token and the refresh token that renews it (rotated on each refresh)."""

    refresh_token: str
    refresh_expires_in: int


class RefreshIn(RequestBody):
    """A refresh token to rotate."""

    refresh_token: CleanText = Field(min_length=1, max_length=256)


class PasswordChange(RequestBody):
    """The current password and the new one."""

    old_password: CleanText = Field(min_length=1, max_length=256)
    new_password: CleanText = Field(min_length=1, max_length=256)


class DisabledOut(BaseModel):
    """A disabled staff member and what became of the conversations they held."""

    staff_id: str
    active: bool
    requeued: int
    passed_on: int
    kept: int


class MemberOut(BaseModel):
    """A staff member's account state."""

    staff_id: str
    active: bool
