"""Routing settings (environment prefix ROUTING_): limits, calendar, priorities, key prefix."""

from __future__ import annotations

from datetime import date

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

_WEEKDAY_DEFAULT = "09:00-17:00"

# Weekday closures of the Shanghai and Shenzhen exchanges, as announced for each year.
# Extend (or override with ROUTING_HOLIDAYS) every December when the next year's notice is out.
EXCHANGE_HOLIDAYS: tuple[date, ...] = (
    # 2025
    date(2025, 1, 1),
    date(2025, 1, 28),
    date(2025, 1, 29),
    date(2025, 1, 30),
    date(2025, 1, 31),
    date(2025, 2, 3),
    date(2025, 2, 4),
    date(2025, 4, 4),
    date(2025, 5, 1),
    date(2025, 5, 2),
    date(2025, 5, 5),
    date(2025, 6, 2),
    date(2025, 10, 1),
    date(2025, 10, 2),
    date(2025, 10, 3),
    date(2025, 10, 6),
    date(2025, 10, 7),
    date(2025, 10, 8),
    # 2026
    date(2026, 1, 1),
    date(2026, 1, 2),
    date(2026, 2, 16),
    date(2026, 2, 17),
    date(2026, 2, 18),
    date(2026, 2, 19),
    date(2026, 2, 20),
    date(2026, 2, 23),
    date(2026, 4, 6),
    date(2026, 5, 1),
    date(2026, 5, 4),
    date(2026, 5, 5),
    date(2026, 6, 19),
    date(2026, 9, 25),
    date(2026, 10, 1),
    date(2026, 10, 2),
    date(2026, 10, 5),
    date(2026, 10, 6),
    date(2026, 10, 7),
)


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
    default_handle_seconds: float = Field(300.0, gt=0)
    """Handle time used for wait estimates before any ticket of the queue was resolved."""
    handle_history: int = Field(50, ge=1)
    """How many recent resolved tickets the wait estimate averages over."""
    timezone: str = "Asia/Shanghai"
    weekday_hours: dict[int, str] = Field(default_factory=lambda: dict.fromkeys(range(5), _WEEKDAY_DEFAULT))
    """Service windows per weekday (0 = Monday), e.g. {"0": "08:30-11:30,13:00-17:00"}; missing = closed."""
    holidays: list[date] = Field(default_factory=lambda: list(EXCHANGE_HOLIDAYS))
    """Non-trading weekdays: tier 2 is closed on them."""
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
