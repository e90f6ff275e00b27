"""Routing settings (environment prefix ROUTING_): limits, calendar, priorities, key prefix."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from pydantic import Field, PrivateAttr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from routing.trading_days import TradingDays, trading_days

_WEEKDAY_DEFAULT = "09:00-17:00"


class RoutingSettings(BaseSettings):
    """Every routing limit and calendar knob; read from ROUTING_* environment variables."""

    model_config = SettingsConfigDict(env_prefix="ROUTING_", extra="ignore")

    tier2_wait_limit_seconds: float = Field(300.0, gt=0)
    """A queued conversation waiting longer than this goes to tier 3."""
    responder_limit_seconds: float = Field(900.0, gt=0)
    """A tier-3 step that gets no first reply within this moves to the next rung of the ladder."""
    presence_ttl_seconds: float = Field(90.0, gt=0)
    """Online/away presence lapses to offline without a heartbeat within this."""
    claim_lease_seconds: float = Field(30.0, gt=0)
    """A claimed ticket not acknowledged within this returns to its queue."""
    reconcile_grace_seconds: float = Field(5.0, ge=0)
    """Reconciliation leaves a conversation queued more recently than this alone (its enqueue may be in flight)."""
    agent_idle_limit_seconds: float = Field(600.0, ge=0)
    """A client who waits this long for an answer from the agent holding the conversation is requeued at their
    original place (or sent to tier 3 when nobody else is online), and the agent is set away; 0: no limit."""
    agent_idle_warning_seconds: float = Field(480.0, ge=0)
    """After this long without an answer the agent is warned once (before the limit; 0: no warning)."""
    default_handle_seconds: float = Field(300.0, gt=0)
    """Handle time used for wait estimates before any ticket of the queue was resolved."""
    handle_history: int = Field(50, ge=1)
    """How many recent resolved tickets the wait estimate averages over."""
    wait_estimate_cache_seconds: float = Field(2.0, ge=0)
    """A queue's wait-estimate inputs (online slots, handle times) are reused for this long; 0 reads them every time."""
    timezone: str = "Asia/Shanghai"
    rating_window_seconds: float = Field(900.0, gt=0)
    """How long after 问题已解答 the client may still rate the answer 1–5 (widget stars, a WeCom digit)."""
    weekday_hours: dict[int, str] = Field(default_factory=lambda: dict.fromkeys(range(5), _WEEKDAY_DEFAULT))
    """Service windows per weekday (0 = Monday), e.g. {"0": "08:30-11:30,13:00-17:00"}; missing = closed."""
    trading_calendar: str = "XSHG"
    """The exchange whose trading days are service days (an exchange_calendars code); empty: none."""
    holidays: list[date] = Field(default_factory=list)
    """Non-service weekdays. Set (ROUTING_HOLIDAYS): closures to add, such as next year's exchange
    holidays before the library lists them; after validation: every closure, the exchange's included."""
    always_open: bool = False
    """Ignore the calendar (demos and tests): tier 2 is always within service hours."""
    client_tier_ranks: dict[str, int] = Field(
        default_factory=lambda: {
            "diamond": 4,
            "钻石": 4,
            "platinum": 3,
            "铂金": 3,
            "gold": 2,
            "黄金": 2,
            "silver": 1,
            "白银": 1,
            "standard": 0,
            "普通": 0,
        }
    )
    """Queue priority of each directory client tier, English or Chinese names (higher first); unknown tiers rank 0."""
    vip_priority_boost: int = Field(1000, ge=1)
    """Added to a VIP client's priority so every VIP is served before every ordinary client."""
    redis_key_prefix: str = "tre:"
    """Prefix of every Redis key (tests use a unique one)."""
    compliance_max_range_days: int = Field(366, ge=1)
    """The longest span of creation dates one compliance search may cover."""
    compliance_page_size: int = Field(20, ge=1, le=200)
    """Conversations per page of a compliance search."""

    _trading_days: TradingDays | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _warning_before_the_idle_limit(self) -> RoutingSettings:
        limit, warning = self.agent_idle_limit_seconds, self.agent_idle_warning_seconds
        if limit and warning >= limit:
            raise ValueError("agent_idle_warning_seconds must be below agent_idle_limit_seconds")
        return self

    @model_validator(mode="after")
    def _add_exchange_closures(self) -> RoutingSettings:
        today = datetime.now(ZoneInfo(self.timezone)).date()
        self._trading_days = trading_days(self.trading_calendar, self.holidays, today)
        self.holidays = sorted(self._trading_days.holidays)
        return self

    @property
    def trading_days(self) -> TradingDays | None:
        """The closures in `holidays`, where they come from and how far they reach."""
        return self._trading_days

    def calendar_warning(self, today: date) -> str | None:
        """What operators must hear when the trading calendar's data end soon (None: all is well)."""
        if self.always_open or self._trading_days is None:
            return None
        return self._trading_days.coverage_warning(today)
