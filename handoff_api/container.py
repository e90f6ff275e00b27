"""The wired services one API process holds; built by main.create_app, read by routes through deps."""

from __future__ import annotations

from dataclasses import dataclass, field

from handoff_api.bot_client import BotClient
from handoff_api.flow import ConversationFlow
from handoff_api.health_checks import Check
from handoff_api.realtime import RealtimeHub
from handoff_api.settings import Settings
from knowledge_base.service import FaqService
from routing.ports import Clock
from routing.service import RoutingService


@dataclass
class Container:
    """Everything a request handler may need."""

    settings: Settings
    routing: RoutingService
    flow: ConversationFlow
    bot: BotClient
    hub: RealtimeHub
    knowledge_base: FaqService | None = None
    health_checks: dict[str, Check] = field(default_factory=dict)

    @property
    def clock(self) -> Clock:
        """Routing's injected clock: the one time source of the API (token expiry, timestamps)."""
        return self.routing.clock
