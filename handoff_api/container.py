"""The wired services one API process holds; built by main.create_app, read by routes through deps."""

from __future__ import annotations

from dataclasses import dataclass, field

from handoff_api.api_keys import ApiKeyRegistry
from handoff_api.bot_client import BotClient
from handoff_api.flow import ConversationFlow
from handoff_api.health_checks import Check
from handoff_api.learning.wiring import LearningLoop
from handoff_api.rate_limits import LoginLimits, RateLimiter, RequestLimits
from handoff_api.realtime import RealtimeHub
from handoff_api.settings import Settings
from handoff_api.staff.passwords import PasswordVerifier
from handoff_api.staff.sessions import StaffSessions
from knowledge_base.service import FaqService
from routing.memory_sessions import MemoryRefreshTokenStore
from routing.ports import Clock
from routing.service import RoutingService
from routing.sessions import RefreshTokenStore


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
    api_keys: ApiKeyRegistry | None = None
    """Integration API keys (None: no key is accepted)."""
    rate_limiter: RateLimiter = field(default_factory=RateLimiter.in_memory)
    """Request rate limits (through Redis when REDIS_URL is set)."""
    learning: LearningLoop | None = None
    """The online learning loop (evidence, review, gaps, live index versions)."""
    request_limits: RequestLimits = field(init=False)
    """The client API's limits, from the settings."""
    refresh_tokens: RefreshTokenStore = field(default_factory=MemoryRefreshTokenStore)
    """Staff refresh tokens (SQL in the app: routing.sql_sessions)."""
    passwords: PasswordVerifier = field(default_factory=PasswordVerifier)
    """argon2 on its own threads (staff sign-in, password change)."""
    login_limits: LoginLimits = field(init=False)
    """Failed staff sign-ins per id and per address, from the settings."""
    sessions: StaffSessions = field(init=False)
    """Staff sessions over `refresh_tokens`."""

    def __post_init__(self) -> None:
        self.request_limits = RequestLimits.from_settings(self.settings)
        self.login_limits = LoginLimits.from_settings(self.settings)
        self.sessions = StaffSessions(self.settings, self.refresh_tokens, self.routing, self.routing.clock)

    @property
    def clock(self) -> Clock:
        """Routing's injected clock: the one time source of the API (token expiry, timestamps)."""
        return self.routing.clock
