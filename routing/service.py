"""The routing service: the use cases the API calls, over the record and the ports.

It orchestrates the pure parts (state machine, policy, assignment, eta), keeps the record as the
truth (every move is a compare-and-set transition), keeps the fast stores (queues, presence) in
step, publishes events for the channels and writes the audit log. Access rules live here.
The use cases are grouped by caller in routing.service_client, service_staff, service_views and
service_background over the shared routing.service_core.
"""

from __future__ import annotations

from routing.service_background import Background, TickReport
from routing.service_client import ClientUseCases
from routing.service_staff import StaffUseCases
from routing.service_views import ClientFacts, QueueItem, ServingStaff, Views

__all__ = ["ClientFacts", "QueueItem", "RoutingService", "ServingStaff", "TickReport"]


class RoutingService(ClientUseCases, StaffUseCases, Views, Background):
    """Routing and hand-off use cases. Safe to run in many workers against shared stores.

    RoutingService(record, queues, presence, events, idempotency, clock, classifier, settings)
    """
