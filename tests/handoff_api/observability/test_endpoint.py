"""GET /metrics on the running app: series after a bot turn, an escalation and a claim; the token; request ids."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from handoff_api.container import Container
from handoff_api.main import create_app
from handoff_api.settings import Settings
from routing.settings import RoutingSettings
from tests.handoff_api.conftest import ScriptedBot, bearer, create_key, login, open_conversation
from tests.handoff_api.observability.scrape import value

MESSAGES_ROUTE = "/api/v1/conversations/{conversation_id}/messages"
TOKEN = "metrics-token-for-tests"


@pytest.fixture
def app_client(settings: Settings, bot: ScriptedBot) -> Iterator[TestClient]:
    """The app on the embedded backends, JSON logs, and no routing tick during the test (claims stay manual)."""
    settings = settings.model_copy(update={"tick_seconds": 3600.0, "log_format": "json"})
    app = create_app(settings, bot=bot, routing_settings=RoutingSettings(always_open=True))
    with TestClient(app) as test_client:
        yield test_client


def scrape(client: TestClient) -> str:
    response = client.get("/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return response.text


def say(client: TestClient, conversation: str, text: str, auth: dict[str, str]) -> dict[str, object]:
    response = client.post(f"/api/v1/conversations/{conversation}/messages", json={"text": text}, headers=auth)
    assert response.status_code == 200, response.text
    body: dict[str, object] = response.json()
    return body


def container_of(client: TestClient) -> Container:
    container: Container = client.app.state.container  # type: ignore[attr-defined]
    return container


def test_a_bot_turn_an_escalation_and_a_claim_show_in_the_metrics(app_client: TestClient) -> None:
    client = app_client
    auth = bearer(create_key(client))
    advisor = login(client, "adv01")
    assert client.post("/api/v1/staff/presence", json={"presence": "online"}, headers=advisor).status_code == 204
    conversation = open_conversation(client, "C10002", auth=auth)

    say(client, conversation, "科创板门槛", auth)
    text = scrape(client)
    assert value(text, "tre_bot_turns_total", band="answer") == 1
    assert value(text, "tre_rasa_request_duration_seconds_count", outcome="ok") == 1
    assert value(text, "tre_http_requests_total", route=MESSAGES_ROUTE, method="POST", status="200") == 1
    assert value(text, "tre_http_request_duration_seconds_count", route=MESSAGES_ROUTE, method="POST") == 1
    assert value(text, "tre_queue_waiting", queue="advisor") == 0
    assert value(text, "tre_staff_online", queue="advisor") == 1
    assert value(text, "tre_scrape_source_up", source="routing") == 1
    assert value(text, "tre_index_loaded") == 0  # the test app has no FAQ index

    # the only online advisor is busy, so the escalation waits in the advisor queue
    routing = container_of(client).routing
    assert client.portal is not None
    client.portal.call(routing.presence.set_load, "adv01", 6)
    say(client, conversation, "推荐一只股票", auth)
    text = scrape(client)
    assert value(text, "tre_bot_turns_total", band="escalate") == 1
    assert value(text, "tre_escalations_total", reason="advice_request", queue="advisor", tier="2") == 1
    assert value(text, "tre_queue_waiting", queue="advisor") == 1
    oldest = value(text, "tre_queue_oldest_wait_seconds", queue="advisor")
    assert oldest is not None and oldest >= 0
    assert value(text, "tre_staff_load", queue="advisor") == 6
    assert value(text, "tre_staff_capacity", queue="advisor") == 6

    client.portal.call(routing.presence.set_load, "adv01", 0)
    claimed = client.post(f"/api/v1/staff/conversations/{conversation}/claim", headers=advisor)
    assert claimed.status_code == 200, claimed.text
    text = scrape(client)
    assert value(text, "tre_agent_joins_total", tier="2") == 1
    assert value(text, "tre_queue_waiting", queue="advisor") == 0
    assert value(text, "tre_queue_oldest_wait_seconds", queue="advisor") == 0
    assert value(text, "tre_staff_load", queue="advisor") == 1
    # this scrape is counted once it is answered: the two before it show
    assert value(text, "tre_http_requests_total", route="/metrics", method="GET", status="200") == 2


def test_unknown_paths_and_methods_do_not_make_new_series(app_client: TestClient) -> None:
    assert app_client.get("/no/such/C10002").status_code == 404
    assert app_client.request("BREW", "/health/live").status_code == 405
    text = scrape(app_client)
    assert value(text, "tre_http_requests_total", route="unmatched", method="GET", status="404") == 1
    assert value(text, "tre_http_requests_total", route="/health/live", method="other", status="405") == 1
    assert "/no/such" not in text


def test_the_request_id_is_echoed_or_made_up(app_client: TestClient) -> None:
    given = app_client.get("/health/live", headers={"X-Request-ID": "req-42.a:b"})
    assert given.headers["x-request-id"] == "req-42.a:b"
    for insane in ("a b", "x" * 65, "<script>"):
        made = app_client.get("/health/live", headers={"X-Request-ID": insane}).headers["x-request-id"]
        assert made != insane and len(made) == 32
    first, second = (app_client.get("/health/live").headers["x-request-id"] for _ in range(2))
    assert first != second


def json_lines(err: str) -> list[dict[str, object]]:
    lines = []
    for line in err.splitlines():
        if line.startswith("{"):
            lines.append(json.loads(line))
    return lines


def test_log_lines_of_a_turn_carry_the_request_and_conversation_ids(
    app_client: TestClient, bot: ScriptedBot, capsys: pytest.CaptureFixture[str]
) -> None:
    auth = bearer(create_key(app_client))
    conversation = open_conversation(app_client, "C10002", auth=auth)
    bot.down = True  # the API's tier 1 answers, and says so in the log, during the turn
    capsys.readouterr()
    response = app_client.post(
        f"/api/v1/conversations/{conversation}/messages",
        json={"text": "我的手机13812345678"},
        headers={**auth, "X-Request-ID": "turn-1"},
    )
    assert response.status_code == 200 and response.headers["x-request-id"] == "turn-1"
    lines = json_lines(capsys.readouterr().err)
    turn = [line for line in lines if line.get("request_id") == "turn-1"]
    assert turn, lines
    warning = next(line for line in turn if "Rasa unavailable" in str(line["event"]))
    assert warning["conversation_id"] == conversation
    assert warning["level"] == "warning" and warning["logger"] == "handoff_api.local_tier1"
    assert "timestamp" in warning
    assert all("13812345678" not in json.dumps(line, ensure_ascii=False) for line in lines)
    text = scrape(app_client)
    assert value(text, "tre_rasa_request_duration_seconds_count", outcome="unavailable") == 1


@pytest.fixture
def guarded(settings: Settings, bot: ScriptedBot) -> Iterator[TestClient]:
    settings = settings.model_copy(update={"metrics_token": SecretStr(TOKEN)})
    with TestClient(create_app(settings, bot=bot, routing_settings=RoutingSettings(always_open=True))) as client:
        yield client


@pytest.mark.parametrize("header", [None, "Bearer wrong", f"Basic {TOKEN}", TOKEN])
def test_with_a_token_set_metrics_need_it(guarded: TestClient, header: str | None) -> None:
    response = guarded.get("/metrics", headers={"Authorization": header} if header else {})
    assert response.status_code == 401
    assert response.json()["error"] == "Unauthorized"
    assert response.headers["www-authenticate"] == "Bearer"


def test_with_the_token_metrics_are_served(guarded: TestClient) -> None:
    response = guarded.get("/metrics", headers=bearer(TOKEN))
    assert response.status_code == 200
    assert value(response.text, "tre_index_loaded") == 0


def test_an_unexpected_error_is_logged_with_the_request_id_and_counted_as_500(
    settings: Settings, bot: ScriptedBot, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = settings.model_copy(update={"log_format": "json"})
    app = create_app(settings, bot=bot, routing_settings=RoutingSettings(always_open=True))

    async def boom(conversation_id: str) -> None:
        raise RuntimeError(f"bug while serving {conversation_id}")

    app.router.add_api_route("/boom/{conversation_id}", boom)
    with TestClient(app, raise_server_exceptions=False) as client:
        capsys.readouterr()
        response = client.get("/boom/c1", headers={"X-Request-ID": "req-boom"})
        assert response.status_code == 500 and response.json()["error"] == "InternalError"
        failed = [line for line in json_lines(capsys.readouterr().err) if "failed" in str(line["event"])]
        assert failed and failed[0]["request_id"] == "req-boom"
        assert "bug while serving c1" in str(failed[0]["exception"])
        text = scrape(client)
    assert value(text, "tre_http_requests_total", route="/boom/{conversation_id}", method="GET", status="500") == 1
