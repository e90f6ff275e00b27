"""Client-side use cases: conversations, messages, escalation from the bot, feedback."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Sequence

from routing import texts
from routing.errors import Forbidden, IllegalTransition, RoutingError, ValidationFailed
from routing.events import Queued, Typing
from routing.models import (
    Channel,
    Client,
    Conversation,
    EscalationReason,
    Message,
    Presence,
    QueueName,
    ResponderStep,
    SenderKind,
    ServedBy,
    Ticket,
    TicketStatus,
    Tier,
)
from routing.policy import Availability, Escalation, Route, decide
from routing.ports import QueueEntry
from routing.service_core import CLIENT_ACTOR, SYSTEM_ACTOR, RoutingCore, S, T
from routing.state_machine import can_rate, is_open


class ClientUseCases(RoutingCore):
    """What the client's channels call."""

    async def start_conversation(self, client_id: str, channel: Channel) -> Conversation:
        """Open a conversation in the bot state; NotFound for an unknown client."""
        client = await self._client(client_id)
        now = self.clock.now()
        conversation = Conversation(
            id=uuid.uuid4().hex,
            client_id=client.id,
            channel=channel,
            state=S.BOT,
            tier=Tier.BOT,
            created_at=now,
            updated_at=now,
        )
        await self.record.create_conversation(conversation)
        await self.record.audit(CLIENT_ACTOR, "conversation.start", conversation.id, {"client_id": client.id}, now)
        return conversation

    async def resume_conversation(self, client_id: str, conversation_id: str) -> Conversation | None:
        """The client's own open conversation with this id; None if unknown or closed, Forbidden if another's."""
        conversation = await self.record.get_conversation(conversation_id)
        if conversation is None:
            return None
        if conversation.client_id != client_id:
            raise Forbidden("conversation belongs to another client")
        return conversation if is_open(conversation.state) else None

    async def client_typing(self, conversation_id: str) -> None:
        """Tell whoever serves the conversation that the client is typing."""
        await self._publish(Typing(conversation_id, SenderKind.CLIENT.value))

    async def get_conversation(self, conversation_id: str, viewer_id: str | None = None) -> Conversation:
        """The conversation; with `viewer_id`, Forbidden unless that staff member may see it."""
        conversation = await self._conversation(conversation_id)
        if viewer_id is not None:
            await self._check_can_view(await self._staff(viewer_id), conversation)
        return conversation

    async def messages(self, conversation_id: str, viewer_id: str | None = None, after_seq: int = 0) -> list[Message]:
        """The transcript after `after_seq` (access-checked when a staff viewer is given)."""
        await self.get_conversation(conversation_id, viewer_id)
        return await self.record.list_messages(conversation_id, after_seq=after_seq)

    async def record_client_message(self, conversation_id: str, text: str) -> Message:
        """Store a client message in any open state (it never changes the state: see `next_question`)."""
        if not text.strip():
            raise ValidationFailed("a message needs text")
        conversation = await self._conversation(conversation_id)
        if not is_open(conversation.state):
            raise IllegalTransition("client_message", conversation.state.value)
        return await self._append(conversation_id, SenderKind.CLIENT, text)

    async def latest_client_texts(self, conversation_id: str, limit: int = 20) -> list[str]:
        """What the client wrote last, newest first (at most `limit` messages)."""
        latest = await self.record.latest_messages(conversation_id, limit=limit, sender=SenderKind.CLIENT)
        return [message.text for message in reversed(latest)]

    async def next_question(self, conversation_id: str) -> Conversation:
        """After a resolved question the client asks another: the bot owns the conversation again."""
        conversation = await self._conversation(conversation_id)
        if conversation.state == S.BOT:
            return conversation
        if conversation.state != S.RESOLVED:
            raise IllegalTransition("next_question", conversation.state.value)
        return await self._move(conversation, T.RETURN_TO_BOT, CLIENT_ACTOR, "next question")

    async def record_bot_replies(self, conversation_id: str, payloads: Sequence[dict[str, object]]) -> list[Message]:
        """Store the bot's replies; only in the bot state (a human is never talked over)."""
        conversation = await self._conversation(conversation_id)
        if conversation.state != S.BOT:
            raise IllegalTransition("bot_reply", conversation.state.value)
        stored = []
        for payload in payloads:
            text = payload.get("text")
            served = ServedBy(Tier.BOT, None, self.clock.now())
            stored.append(
                await self._append(
                    conversation_id,
                    SenderKind.BOT,
                    text if isinstance(text, str) else "",
                    dict(payload),
                    served,
                )
            )
        return stored

    async def escalate_from_bot(
        self,
        conversation_id: str,
        reason: EscalationReason,
        queue_hint: QueueName | None,
        question: str,
    ) -> Conversation:
        """Leave the bot: tier-2 queue, or tier 3 (off hours / nobody online), or leave a message."""
        conversation = await self._conversation(conversation_id)
        if conversation.state != S.BOT:
            raise IllegalTransition("escalate_from_bot", conversation.state.value)
        client = await self._client(conversation.client_id)
        question = question.strip() or await self._last_client_text(conversation_id)
        now = self.clock.now()
        online = {queue: len(await self.presence.online_staff(queue)) for queue in QueueName}
        _step, first = await self._ladder_target(client, ResponderStep.RESPONDER)
        responder_online = await self.presence.presence(first.id) == Presence.ONLINE
        decision = decide(
            Escalation(reason, queue_hint, question, client, now),
            self._classify,
            self.calendar,
            Availability(online, responder_online),
            self.priorities,
        )
        if decision.route == Route.QUEUE:
            return await self._enqueue_new(conversation, client, decision.queue, decision.reason, question)
        prefix = texts.OFF_HOURS_PREFIX if decision.reason == EscalationReason.OFF_HOURS else texts.NO_STAFF_PREFIX
        leave = decision.route == Route.LEAVE_MESSAGE
        return await self._to_tier3(
            conversation,
            client,
            SYSTEM_ACTOR,
            decision.reason,
            question,
            T.LEAVE_MESSAGE if leave else T.ESCALATE_TO_RESPONDER,
            prefix,
        )

    def _classify(self, text: str) -> QueueName:
        return self.classifier.classify(text) if text.strip() else QueueName.SERVICE

    async def _enqueue_new(
        self,
        conversation: Conversation,
        client: Client,
        queue: QueueName,
        reason: EscalationReason,
        question: str,
    ) -> Conversation:
        now = self.clock.now()
        ticket = Ticket(
            id=uuid.uuid4().hex,
            conversation_id=conversation.id,
            client_id=client.id,
            tier=Tier.ONLINE,
            reason=reason,
            question=question,
            enqueued_at=now,
            queue=queue,
            priority=self.priorities.priority(client),
            vip=client.vip,
        )
        await self.record.open_ticket(ticket)
        try:
            await self._move(
                conversation,
                T.ESCALATE_TO_QUEUE,
                SYSTEM_ACTOR,
                reason.value,
                queue=queue,
                ticket_id=ticket.id,
                escalation_reason=reason,
            )
        except RoutingError:
            await self.record.update_ticket(dataclasses.replace(ticket, status=TicketStatus.CLOSED))
            raise
        await self.queues.enqueue(QueueEntry(ticket.id, conversation.id, queue, ticket.priority, now))
        position = await self.queues.position(queue, ticket.id)
        await self._tell_client(conversation.id, texts.queued(queue, position), type="queued", position=position)
        await self._publish(Queued(conversation.id, queue.value, position, client.vip))
        await self._auto_assign(queue)
        return await self._conversation(conversation.id)

    async def rate_bot_answer(self, conversation_id: str, resolved: bool) -> Conversation:
        """Record the client's rating of a bot answer only; the bot's own escalation moves the conversation."""
        conversation = await self._conversation(conversation_id)
        if conversation.state != S.BOT:
            raise IllegalTransition("rate_bot_answer", conversation.state.value)
        await self._record_feedback(conversation, resolved)
        return conversation

    async def _record_feedback(self, conversation: Conversation, resolved: bool) -> None:
        now = self.clock.now()
        await self.record.add_feedback(
            conversation.id,
            conversation.ticket_id,
            conversation.tier,
            conversation.assignee_id,
            resolved,
            now,
        )
        await self.record.audit(CLIENT_ACTOR, "feedback", conversation.id, {"resolved": resolved}, now)

    async def client_feedback(self, conversation_id: str, resolved: bool) -> Conversation:
        """问题已解答 / 问题未解答: record who it rates; "not resolved" moves one tier up."""
        conversation = await self._conversation(conversation_id)
        state = conversation.state
        if not can_rate(state):
            raise IllegalTransition("client_feedback", state.value)
        await self._record_feedback(conversation, resolved)
        if state == S.BOT:
            if resolved:
                return conversation
            question = await self._last_client_text(conversation.id)
            return await self.escalate_from_bot(conversation.id, EscalationReason.CLIENT_UNRESOLVED, None, question)
        if resolved:
            if state == S.RESOLVED:
                return await self._move(conversation, T.RETURN_TO_BOT, CLIENT_ACTOR, "client confirmed resolved")
            return await self._resolve(conversation, CLIENT_ACTOR)
        if conversation.tier == Tier.ONLINE:
            client = await self._client(conversation.client_id)
            return await self._to_tier3(
                conversation,
                client,
                CLIENT_ACTOR,
                EscalationReason.CLIENT_UNRESOLVED,
                "",
                prefix=texts.UNRESOLVED_PREFIX,
            )
        if state == S.RESOLVED:
            return await self._reopen(conversation, CLIENT_ACTOR)
        return conversation
