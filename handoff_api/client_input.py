"""What a client does in one turn, as the channels hand it to the conversation flow.

A channel with buttons of its own (the widget, the REST feedback route) builds `Rating` or
`HumanRequest` directly. A channel that only carries text (REST messages, WeCom) may receive the
payload of a button the bot sent (``/feedback_resolved`` ...): `parse_client_text` turns those
into the same values, in this one place.
"""

from __future__ import annotations

from dataclasses import dataclass

RESOLVED_WORDS = "问题已解答"
UNRESOLVED_WORDS = "问题未解答"
HUMAN_REQUEST_WORDS = "转人工"


@dataclass(frozen=True)
class Utterance:
    """Free text from the client (already checked: trimmed, not empty, not too long)."""

    text: str


@dataclass(frozen=True)
class Rating:
    """问题已解答 (resolved) or 问题未解答 (not resolved)."""

    resolved: bool

    @property
    def words(self) -> str:
        """What the client clicked, as it is stored in the transcript."""
        return RESOLVED_WORDS if self.resolved else UNRESOLVED_WORDS


@dataclass(frozen=True)
class HumanRequest:
    """转人工: the client asks for a person."""

    words: str = HUMAN_REQUEST_WORDS


ClientInput = Utterance | Rating | HumanRequest

BUTTON_PAYLOADS: dict[str, Rating | HumanRequest] = {
    "/feedback_resolved": Rating(True),
    "/feedback_unresolved": Rating(False),
    "/ask_human": HumanRequest(),
}
"""The payloads of the bot's buttons (bot.actions.payloads), for channels that send them back as text."""

BUTTON_WORDS = frozenset({RESOLVED_WORDS, UNRESOLVED_WORDS, HUMAN_REQUEST_WORDS})
"""How clicked buttons appear in the transcript (never taken for a question)."""


def parse_client_text(text: str) -> ClientInput:
    """A button's payload becomes the click it stands for; any other text is an utterance."""
    return BUTTON_PAYLOADS.get(text, Utterance(text))
