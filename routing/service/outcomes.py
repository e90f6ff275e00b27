"""How a question ends, moves up or starts again: resolved, unresolved (to tier 3), reopened, closed.

Shared by the client's and the staff's use cases.
"""

from __future__ import annotations

from routing import texts
from routing.errors import NoCapacity
from routing.events import Closed, Reopened, Resolved
from routing.models import Conversation, ConversationState, EscalationReason, TicketStatus, Tier
from routing.service.assigner import Assigner
from routing.service.journal import CLIENT_ACTOR, Journal
from routing.service.ladder import Ladder
from routing.service.lookups import Lookups
from routing.state_machine import TransitionName


class Outcomes:
    """Resolve, escalate, reopen and close a conversation, keeping slots, tickets and the client in step."""

    def __init__(self, lookups: Lookups, journal: Journal, assigner: Assigner, ladder: Ladder) -> None:
        self._lookups = lookups
        self._journal = journal
        self._assigner = assigner
        self._ladder = ladder

    async def resolve(self, conversation: Conversation, actor: str) -> Conversation:
        """Answered: free the agent's slot, resolve the ticket, ask the client (unless they said so themselves)."""
        after = await self._journal.move(conversation, TransitionName.RESOLVE, actor, "resolved")
        await self._assigner.free_agent_of(conversation)
        await self._journal.patch_ticket(
            conversation.ticket_id, status=TicketStatus.RESOLVED, resolved_at=after.updated_at
        )
        if actor == CLIENT_ACTOR:  # the client already said it is solved: thank them, do not ask again
            await self._journal.tell_client(conversation.id, texts.RESOLVED_BY_CLIENT, type="resolved")
        else:
            await self._journal.tell_client(
                conversation.id, texts.RESOLVED, type="feedback_request", options=list(texts.FEEDBACK_OPTIONS)
            )
        await self._journal.publish(Resolved(conversation.id, conversation.assignee_id))
        return after

    async def unresolved(self, conversation: Conversation, actor: str, reason: EscalationReason) -> Conversation:
        """Tier 2 could not resolve it: hand it to the client's responder (the ladder)."""
        client = await self._lookups.client_of(conversation)
        return await self._ladder.hand_over(conversation, client, actor, reason, prefix=texts.UNRESOLVED_PREFIX)

    async def reopen(self, conversation: Conversation, actor: str) -> Conversation:
        """Back to whoever last held it (a tier-2 agent needs a free slot: NoCapacity otherwise), or the bot."""
        holder = conversation.assignee_id
        back_to_agent = holder is not None and conversation.tier == Tier.ONLINE
        if back_to_agent and holder is not None:
            member = await self._lookups.staff(holder)
            if not await self._assigner.reserve(member):
                raise NoCapacity(f"{holder} has no free slot")
        try:
            after = await self._journal.move(conversation, TransitionName.REOPEN, actor, "reopened")
        except BaseException:
            if back_to_agent and holder is not None:
                await self._assigner.release(holder)
            raise
        if holder is not None:
            await self._journal.patch_ticket(conversation.ticket_id, status=TicketStatus.ASSIGNED, resolved_at=None)
            await self._journal.tell_client(conversation.id, texts.REOPENED, type="reopened")
        await self._journal.publish(Reopened(conversation.id, holder))
        return after

    async def close(self, conversation: Conversation, actor: str) -> Conversation:
        """End the conversation from any open state (out of its queue, the agent's slot freed)."""
        async with self._assigner.out_of_queue(conversation):
            after = await self._journal.move(conversation, TransitionName.CLOSE, actor, "closed")
        await self._assigner.free_agent_of(conversation)
        await self._journal.retire_ticket(await self._lookups.ticket(conversation.ticket_id), TicketStatus.CLOSED)
        await self._journal.tell_client(conversation.id, texts.CLOSED, type="closed")
        await self._journal.publish(Closed(conversation.id, conversation.assignee_id))
        if conversation.state == ConversationState.QUEUED and conversation.queue:
            await self._assigner.publish_positions(conversation.queue)
        return after
