from datetime import UTC, date, datetime

import pytest

from routing.calendar import ServiceCalendar
from routing.models import Client, EscalationReason, QueueName
from routing.policy import Availability, Escalation, PriorityRules, Route, choose_queue, decide

OPEN = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)  # Monday 10:00 Shanghai
NIGHT = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)  # Monday 22:00 Shanghai
HOLIDAY = datetime(2026, 10, 1, 2, 0, tzinfo=UTC)
CALENDAR = ServiceCalendar.build("Asia/Shanghai", dict.fromkeys(range(5), "09:00-17:00"), [date(2026, 10, 1)])
RULES = PriorityRules({"diamond": 3, "gold": 2, "standard": 0}, vip_boost=1000)
EVERYONE = Availability({QueueName.ADVISOR: 2, QueueName.SERVICE: 1}, responder_online=True)


def client(vip=False, tier="standard") -> Client:
    return Client("c1", "张三", tier, vip, "sh01", "r1")


def never_called(text: str) -> QueueName:
    raise AssertionError("classifier must not be consulted")


def test_advice_requests_always_go_to_advisors():
    queue = choose_queue(EscalationReason.ADVICE_REQUEST, QueueName.SERVICE, "开户", never_called)
    assert queue == QueueName.ADVISOR


def test_the_hint_wins_over_the_classifier():
    assert choose_queue(EscalationReason.LOW_SCORE, QueueName.SERVICE, "股票", never_called) == QueueName.SERVICE


def test_without_a_hint_the_classifier_decides():
    seen = []

    def classify(text):
        seen.append(text)
        return QueueName.ADVISOR if "基金" in text else QueueName.SERVICE

    assert choose_queue(EscalationReason.ASKED_HUMAN, None, "这只基金怎么样", classify) == QueueName.ADVISOR
    assert choose_queue(EscalationReason.ASKED_HUMAN, None, "怎么改密码", classify) == QueueName.SERVICE
    assert seen == ["这只基金怎么样", "怎么改密码"]


def test_vip_before_any_tier_then_tier_rank():
    vip_standard = RULES.priority(client(vip=True))
    diamond = RULES.priority(client(tier="diamond"))
    gold = RULES.priority(client(tier="Gold "))
    unknown = RULES.priority(client(tier="bronze"))
    assert vip_standard > diamond > gold > unknown == 0
    assert RULES.priority(client(vip=True, tier="diamond")) > vip_standard


def escalation(at=OPEN, reason=EscalationReason.LOW_SCORE, hint=QueueName.SERVICE, vip=False):
    return Escalation(reason, hint, "怎么开通创业板", client(vip=vip), at)


def test_open_hours_with_staff_go_to_the_queue():
    decision = decide(escalation(vip=True), never_called, CALENDAR, EVERYONE, RULES)
    assert decision.route == Route.QUEUE
    assert decision.queue == QueueName.SERVICE
    assert decision.reason == EscalationReason.LOW_SCORE
    assert decision.priority == 1000


@pytest.mark.parametrize("at", [NIGHT, HOLIDAY, datetime(2026, 3, 7, 2, tzinfo=UTC)])
def test_off_hours_go_to_the_responder(at):
    decision = decide(escalation(at=at), never_called, CALENDAR, EVERYONE, RULES)
    assert decision.route == Route.RESPONDER
    assert decision.reason == EscalationReason.OFF_HOURS


def test_nobody_with_the_skill_online_goes_to_the_responder():
    only_advisors = Availability({QueueName.ADVISOR: 3}, responder_online=True)
    decision = decide(escalation(), never_called, CALENDAR, only_advisors, RULES)
    assert (decision.route, decision.reason) == (Route.RESPONDER, EscalationReason.NO_STAFF_ONLINE)


def test_responder_off_too_means_leave_a_message():
    nobody = Availability({}, responder_online=False)
    decision = decide(escalation(at=NIGHT), never_called, CALENDAR, nobody, RULES)
    assert (decision.route, decision.reason) == (Route.LEAVE_MESSAGE, EscalationReason.OFF_HOURS)


def test_responder_presence_does_not_matter_when_tier2_is_open():
    decision = decide(escalation(), never_called, CALENDAR, Availability(EVERYONE.online_by_queue, False), RULES)
    assert decision.route == Route.QUEUE


def test_default_tier_ranks_know_the_directory_s_chinese_tier_names() -> None:
    from routing.settings import RoutingSettings

    settings = RoutingSettings()
    rules = PriorityRules(settings.client_tier_ranks, settings.vip_priority_boost)

    def client(tier: str, vip: bool = False) -> Client:
        return Client("c", "客户", tier, vip, "上海浦东营业部", "rsp01")

    assert rules.priority(client("钻石")) > rules.priority(client("黄金")) > rules.priority(client("普通"))
    assert rules.priority(client("普通", vip=True)) > rules.priority(client("钻石"))
