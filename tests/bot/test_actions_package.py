"""The action package as the executor sees it, checked against domain.yml and the training data."""

from __future__ import annotations

from pathlib import Path

import yaml
from rasa_sdk.executor import ActionExecutor

ROOT = Path(__file__).resolve().parents[2]


def load_yaml(relative: str):
    return yaml.safe_load((ROOT / relative).read_text(encoding="utf-8"))


def test_executor_registers_exactly_the_domain_actions():
    executor = ActionExecutor()
    executor.register_package("bot.actions")

    domain_actions = set(load_yaml("domain.yml")["actions"])
    registered = {name for name in executor.actions if not name.startswith("action_test_")}
    assert domain_actions <= registered
    assert {"action_answer_faq", "action_feedback", "action_request_handoff", "action_small_talk"} == domain_actions


def test_slots_are_custom_text_slots_outside_the_conversation_policy():
    slots = load_yaml("domain.yml")["slots"]
    assert set(slots) == {"last_faq_id", "last_queue", "last_question"}
    for slot in slots.values():
        assert slot["type"] == "text"
        assert slot["influence_conversation"] is False
        assert slot["mappings"] == [{"type": "custom"}]


def examples_by_intent(relative: str) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for block in load_yaml(relative)["nlu"]:
        if "intent" in block:
            lines = [line.strip()[2:].strip() for line in block["examples"].splitlines() if line.strip()]
            found.setdefault(block["intent"], []).extend(lines)
    return found


def test_every_intent_has_training_and_test_examples():
    intents = set(load_yaml("domain.yml")["intents"])
    training = examples_by_intent("bot/data/nlu.yml")
    testing = examples_by_intent("bot/test_data/nlu.yml")
    assert set(training) == intents
    assert set(testing) == intents
    assert len(training["question"]) >= 200


def test_test_set_is_large_and_disjoint_from_training():
    training = {text for texts in examples_by_intent("bot/data/nlu.yml").values() for text in texts}
    testing = [text for texts in examples_by_intent("bot/test_data/nlu.yml").values() for text in texts]
    assert len(testing) >= 120
    assert len(set(testing)) == len(testing)
    assert not training & set(testing)


def test_every_intent_is_routed_by_a_rule():
    routed: set[str] = set()
    for rule in load_yaml("bot/data/rules.yml")["rules"]:
        routed.update(step["intent"] for step in rule["steps"] if "intent" in step)
    assert routed == set(load_yaml("domain.yml")["intents"]) | {"nlu_fallback"}


def test_action_endpoint_url_comes_from_the_environment_unquoted():
    text = (ROOT / "bot/endpoints.yml").read_text(encoding="utf-8")
    assert "url: ${ACTION_ENDPOINT_URL}" in text
    assert set(load_yaml("bot/credentials.yml")) == {"rest"}
