"""The routing service: the use cases the API calls, over the record and the ports.

`RoutingService` (routing.service.facade) is a thin façade over small collaborators in this
package; the read models it returns are re-exported here.
"""

from __future__ import annotations

from routing.service.background import TickReport
from routing.service.client import OpenedConversation
from routing.service.facade import RoutingService
from routing.service.stats import DayStats, UnresolvedQuestion
from routing.service.views import (
    ClientFacts,
    Colleague,
    ConversationView,
    QueueItem,
    QueueLoad,
    ServingStaff,
    StaffStatus,
)

__all__ = [
    "ClientFacts",
    "Colleague",
    "ConversationView",
    "DayStats",
    "OpenedConversation",
    "QueueItem",
    "QueueLoad",
    "RoutingService",
    "ServingStaff",
    "StaffStatus",
    "TickReport",
    "UnresolvedQuestion",
]
