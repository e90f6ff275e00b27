"""RoutingService: the one object the API holds. A thin façade that wires the collaborators and delegates.

Collaborators (each takes only what it needs):
- access: pure rules of who may view, hold and act;
- lookups: id reads; journal: every recorded move, message, ticket, audit entry and event;
- assigner: tier-2 seats (queues, leases, slots, claims, auto-assignment); ladder: the hand-over to tier 3;
- intake (leaving the bot) and outcomes (resolve, escalate, reopen, close);
- the use cases by caller: client, staff, attendance, views, stats, background.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Sequence
from datetime import timedelta

from routing.calendar import ServiceCalendar
from routing.canned import CannedReplyStore
from routing.memory_canned import MemoryCannedReplies
from routing.models import Channel, Client, Conversation, EscalationReason, Message, Presence, QueueName, Staff
from routing.ports import Clock, EventBus, IdempotencyStore, PresenceStore, QuestionClassifier, QueueStore
from routing.records import Record, SatisfactionRating
from routing.reports import Limits
from routing.service.accounts import Accounts
from routing.service.assigner import Assigner
from routing.service.attendance import Attendance
from routing.service.background import Background, TickReport
from routing.service.canned import CannedReplies
from routing.service.client import ClientUseCases, OpenedConversation
from routing.service.compliance import Compliance
from routing.service.departures import Departures
from routing.service.figures import Figures
from routing.service.idle import IdleAgents
from routing.service.intake import Intake
from routing.service.journal import Journal
from routing.service.ladder import Ladder
from routing.service.lookups import Lookups
from routing.service.outcomes import Outcomes
from routing.service.pages import NEWEST
from routing.service.pages import PageRequest as Page
from routing.service.pages import TranscriptPage as Transcript
from routing.service.reconcile import Reconciler
from routing.service.reports import Ratings, Reports
from routing.service.rules import RoutingRules
from routing.service.staff import StaffUseCases
from routing.service.stats import Stats
from routing.service.views import (
    ClientFacts,
    Colleague,
    ConversationView,
    QueueItem,
    QueueLoad,
    StaffStatus,
    Views,
)
from routing.settings import RoutingSettings


class RoutingService:
    """Routing and hand-off use cases. Safe to run in many workers against shared stores.

    Replacing `queues` or `presence` (a test's flushed Redis) rewires the collaborators onto the new store.
    """

    def __init__(  # noqa: PLR0917 - the contract's constructor
        self,
        record: Record,
        queues: QueueStore,
        presence: PresenceStore,
        events: EventBus,
        idempotency: IdempotencyStore,
        clock: Clock,
        classifier: QuestionClassifier,
        settings: RoutingSettings,
        canned: CannedReplyStore | None = None,
    ) -> None:
        self._record = record
        self._canned_store = canned if canned is not None else MemoryCannedReplies()
        self._queues = queues
        self._presence = presence
        self._events = events
        self._idempotency = idempotency
        self._clock = clock
        self._settings = settings
        self._rules = RoutingRules.from_settings(settings, classifier)
        self._worker_id = f"w-{uuid.uuid4().hex[:12]}"
        self._wire()

    def _wire(self) -> None:
        """Build the collaborators over the current stores."""
        record, clock = self._record, self._clock
        lookups = Lookups(record)
        journal = Journal(record, self._events, clock)
        assigner = Assigner(
            lookups, journal, self._queues, self._presence, self._settings.claim_lease_seconds, self._worker_id
        )
        ladder = Ladder(record, lookups, journal, assigner, self._rules, clock)
        outcomes = Outcomes(lookups, journal, assigner, ladder)
        self._intake = Intake(lookups, journal, assigner, ladder, self._rules, clock)
        self._client = ClientUseCases(record, lookups, journal, self._intake, outcomes, clock)
        self._staff = StaffUseCases(lookups, journal, assigner, outcomes, clock)
        departures = Departures(record, lookups, journal, assigner, ladder, self._presence)
        self._attendance = Attendance(
            record, lookups, journal, assigner, self._presence, self._settings.presence_ttl_seconds, departures
        )
        self._views = Views(
            record, lookups, assigner, self._presence, self._settings, clock, journal, self._idempotency
        )
        self._accounts = Accounts(record, journal, self._attendance, assigner, self._staff, ladder)
        self._journal = journal
        reconciler = Reconciler(record, assigner, self._presence, clock, self._settings.reconcile_grace_seconds)
        marks, ttl = self._idempotency, self._settings.presence_ttl_seconds
        idle = IdleAgents(record, lookups, journal, departures, self._attendance, marks, clock, self._rules.idle)
        self._background = Background(record, journal, assigner, ladder, departures, reconciler, marks, ttl, idle)
        span = timedelta(days=self._settings.compliance_max_range_days)
        self._compliance = Compliance(
            record, lookups, journal, self._rules.zone, span, self._settings.compliance_page_size
        )
        self._canned = CannedReplies(self._canned_store, lookups, journal, clock, self._rules.zone)
        limits = Limits(self._rules.wait_limit, self._rules.responder_limit)
        reports = Reports(record, limits, self._rules.zone, clock)
        self._figures = Figures(Stats(record, self._rules.zone, clock), reports, lookups)
        window = timedelta(seconds=self._settings.rating_window_seconds)
        self._ratings = Ratings(record, lookups, journal, window, clock)

    # --- what the service holds --------------------------------------------------------------------

    @property
    def record(self) -> Record:
        """The system of record."""
        return self._record

    @property
    def compliance(self) -> Compliance:
        """Compliance search and transcript export (compliance staff and admins; audited)."""
        return self._compliance

    @property
    def figures(self) -> Figures:
        """The supervisors' day figures and reports, of the branch each oversees."""
        return self._figures

    @property
    def accounts(self) -> Accounts:
        """Staff accounts: password changes, signing out everywhere, disabling and enabling (audited)."""
        return self._accounts

    @property
    def canned(self) -> CannedReplies:
        """The console's canned replies (supervisors manage them)."""
        return self._canned

    @property
    def queues(self) -> QueueStore:
        """The tier-2 queues."""
        return self._queues

    @queues.setter
    def queues(self, queues: QueueStore) -> None:
        self._queues = queues
        self._wire()

    @property
    def presence(self) -> PresenceStore:
        """Staff presence and loads."""
        return self._presence

    @presence.setter
    def presence(self, presence: PresenceStore) -> None:
        self._presence = presence
        self._wire()

    @property
    def events(self) -> EventBus:
        """The bus the channels listen on."""
        return self._events

    @property
    def idempotency(self) -> IdempotencyStore:
        """Duplicate-delivery guard shared with the channels."""
        return self._idempotency

    @property
    def clock(self) -> Clock:
        """The service's clock."""
        return self._clock

    @property
    def settings(self) -> RoutingSettings:
        """Routing's limits and calendar settings."""
        return self._settings

    @property
    def calendar(self) -> ServiceCalendar:
        """Tier 2's service hours."""
        return self._rules.calendar

    @property
    def worker_id(self) -> str:
        """This worker's name in queue leases."""
        return self._worker_id

    # --- the client --------------------------------------------------------------------------------

    async def open_conversation(self, client_id: str, channel: Channel) -> OpenedConversation:
        """The client's open conversation on the channel, or a new one; says which."""
        return await self._client.open_conversation(client_id, channel)

    async def start_conversation(self, client_id: str, channel: Channel) -> Conversation:
        """The client's open conversation on the channel, or a new one in the bot state."""
        return await self._client.start_conversation(client_id, channel)

    async def resume_conversation(self, client_id: str, conversation_id: str) -> Conversation | None:
        """The client's own open conversation, or None."""
        return await self._client.resume_conversation(client_id, conversation_id)

    async def client_typing(self, conversation_id: str) -> None:
        """The client is typing."""
        await self._client.client_typing(conversation_id)

    async def get_conversation(self, conversation_id: str, viewer_id: str | None = None) -> Conversation:
        """The conversation (access-checked for a staff viewer)."""
        return await self._client.get_conversation(conversation_id, viewer_id)

    async def transcript(self, conversation_id: str, viewer_id: str | None = None, page: Page = NEWEST) -> Transcript:
        """A page of the transcript, the newest by default (access-checked for a staff viewer)."""
        return await self._client.transcript(conversation_id, viewer_id, page)

    async def record_client_message(self, conversation_id: str, text: str, client_msg_id: str | None = None) -> Message:
        """Store a client message (DuplicateClientMessage for a resend of a stored `client_msg_id`)."""
        return await self._client.record_client_message(conversation_id, text, client_msg_id)

    async def latest_client_texts(self, conversation_id: str, limit: int = 20) -> list[str]:
        """What the client wrote last, newest first."""
        return await self._client.latest_client_texts(conversation_id, limit)

    async def next_question(self, conversation_id: str) -> Conversation:
        """After a resolved question, the bot owns the conversation again."""
        return await self._client.next_question(conversation_id)

    async def record_bot_replies(self, conversation_id: str, payloads: Sequence[dict[str, object]]) -> list[Message]:
        """Store the bot's replies (bot state only)."""
        return await self._client.record_bot_replies(conversation_id, payloads)

    async def escalate_from_bot(
        self, conversation_id: str, reason: EscalationReason, queue_hint: QueueName | None, question: str
    ) -> Conversation:
        """Leave the bot: a tier-2 queue, or tier 3."""
        return await self._intake.escalate_from_bot(conversation_id, reason, queue_hint, question)

    async def rate_bot_answer(self, conversation_id: str, resolved: bool) -> Conversation:
        """Record the client's rating of a bot answer."""
        return await self._client.rate_bot_answer(conversation_id, resolved)

    async def client_feedback(self, conversation_id: str, resolved: bool) -> Conversation:
        """问题已解答 / 问题未解答; "not resolved" moves one tier up."""
        return await self._client.client_feedback(conversation_id, resolved)

    # --- the staff ---------------------------------------------------------------------------------

    async def staff_reply(self, staff_id: str, conversation_id: str, text: str, reply_id: str | None = None) -> Message:
        """A human answer (sent again with the same `reply_id`, stored once)."""
        return await self._staff.staff_reply(staff_id, conversation_id, text, reply_id)

    async def claim(self, staff_id: str, conversation_id: str | None = None) -> Conversation:
        """Take the best waiting conversation, or a specific one; an offline claimant becomes present (away)."""
        await self._attendance.present_for_claim(staff_id)
        return await self._staff.claim(staff_id, conversation_id)

    async def resolve(self, staff_id: str, conversation_id: str) -> Conversation:
        """Close the question as answered."""
        return await self._staff.resolve(staff_id, conversation_id)

    async def mark_unresolved(self, staff_id: str, conversation_id: str) -> Conversation:
        """The agent could not resolve it: tier 3."""
        return await self._staff.mark_unresolved(staff_id, conversation_id)

    async def escalate_to_responder(self, staff_id: str, conversation_id: str) -> Conversation:
        """Hand it to the client's responder."""
        return await self._staff.escalate_to_responder(staff_id, conversation_id)

    async def transfer_to_queue(self, staff_id: str, conversation_id: str, queue: QueueName) -> Conversation:
        """Move it to another tier-2 queue."""
        return await self._staff.transfer_to_queue(staff_id, conversation_id, queue)

    async def transfer_to_staff(self, staff_id: str, conversation_id: str, target_staff_id: str) -> Conversation:
        """Hand it to a colleague."""
        return await self._staff.transfer_to_staff(staff_id, conversation_id, target_staff_id)

    async def reopen(self, staff_id: str, conversation_id: str) -> Conversation:
        """Reopen with whoever last held it."""
        return await self._staff.reopen(staff_id, conversation_id)

    async def close(self, actor_id: str | None, conversation_id: str) -> Conversation:
        """End the conversation (`actor_id` None: the client)."""
        return await self._staff.close(actor_id, conversation_id)

    async def staff_typing(self, staff_id: str, conversation_id: str) -> bool:
        """The holder is typing; False if they do not hold it."""
        return await self._staff.staff_typing(staff_id, conversation_id)

    async def login_credentials(self, staff_id: str) -> tuple[Staff, str | None] | None:
        """The staff member and their password hash, or None."""
        return await self._attendance.login_credentials(staff_id)

    async def set_presence(self, staff_id: str, presence: Presence) -> None:
        """Online / away / offline."""
        await self._attendance.set_presence(staff_id, presence)

    async def heartbeat(self, staff_id: str) -> bool:
        """Keep presence alive; False if it lapsed."""
        return await self._attendance.heartbeat(staff_id)

    # --- views -------------------------------------------------------------------------------------

    async def queue_view(self, queue: QueueName, viewer_id: str) -> list[QueueItem]:
        """The waiting conversations of a queue, in service order."""
        return await self._views.queue_view(queue, viewer_id)

    async def queue_loads(self) -> list[QueueLoad]:
        """Each tier-2 queue's length, oldest wait, online staff, load and capacity (counts only)."""
        return await self._views.queue_loads()

    async def find_client(self, client_id: str) -> Client | None:
        """The directory's client, or None."""
        return await self._views.find_client(client_id)

    async def clients(self, limit: int = 200) -> list[Client]:
        """The directory's first `limit` clients."""
        return await self._views.clients(limit)

    async def find_staff(self, staff_id: str) -> Staff | None:
        """The staff member as stored now, or None."""
        return await self._views.find_staff(staff_id)

    async def staff_status(self, staff_id: str) -> StaffStatus:
        """Presence and current load."""
        return await self._views.staff_status(staff_id)

    async def colleagues(self, staff_id: str) -> list[Colleague]:
        """Tier-2 colleagues who can take a transfer."""
        return await self._views.colleagues(staff_id)

    async def conversation_view(
        self, viewer_id: str, conversation_id: str, opened: bool = False, page: Page = NEWEST
    ) -> ConversationView:
        """Transcript page, client and ticket (access-checked; audited: each open, re-reads once per window)."""
        return await self._views.conversation_view(viewer_id, conversation_id, opened, page)

    async def messages_after(self, conversation_id: str, after_seq: int, limit: int = 200) -> list[Message]:
        """Messages after `after_seq`."""
        return await self._views.messages_after(conversation_id, after_seq, limit)

    async def staff_conversations(self, staff_id: str) -> list[Conversation]:
        """Live conversations a staff member holds or follows."""
        return await self._views.staff_conversations(staff_id)

    async def client_facts(self, conversation_id: str) -> ClientFacts:
        """State, position, wait and who serves, for the client."""
        return await self._views.client_facts(conversation_id)

    async def estimated_wait(self, queue: QueueName, position: int) -> float | None:
        """Seconds until `position` is likely served."""
        return await self._views.estimated_wait(queue, position)

    async def rate(self, conversation_id: str, score: int, channel: Channel | None = None) -> SatisfactionRating:
        """The client's 1–5 rating of the latest resolved question."""
        return await self._ratings.rate(conversation_id, score, channel)

    async def rating_due(self, conversation_id: str) -> bool:
        """The client may rate now: the latest answer was 问题已解答, within the rating window."""
        return await self._ratings.due(conversation_id)

    # --- the audit log and background work ---------------------------------------------------------

    async def audit(self, actor: str, action: str, subject: str, detail: dict[str, object] | None = None) -> None:
        """Append an entry stamped now (routing.audit.AuditAction names the actions: logins, exports, KB edits)."""
        await self._journal.audit(actor, action, subject, dict(detail or {}))

    async def tick(self) -> TickReport:
        """Leases, auto-assignment, the wait limit and the ladder, once; and what disabled members held."""
        report = await self._background.tick()
        released = await self._accounts.release_disabled()
        return dataclasses.replace(report, released=released) if released else report

    async def rebuild_if_emptied(self) -> bool:
        """At start-up and every tick: rebuild from the record only if the fast stores lost their data."""
        return await self._background.rebuild_if_emptied()

    async def rebuild_queues(self) -> int:
        """Re-enqueue waiting tickets and reset loads after a Redis flush."""
        return await self._background.rebuild_queues()
