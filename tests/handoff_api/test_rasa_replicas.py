"""Two real Rasa replicas behind two API workers, on PostgreSQL (the tracker store) and Redis (the lock store).

Conversations spread over both replicas, sticky by id; either replica sees every conversation's dialogue state
(the tracker store is shared); and when a conversation's replica stops, the next message goes to the other,
which carries on from the stored state: 问题未解答 after an answer escalates that answer's question, which only
the tracker knows. Bounded: every wait has a deadline, and every server is stopped at the end.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import yaml

from handoff_api.bot_client import replica_for
from handoff_api.launcher import RasaWiring, rasa_server_argv, wire_rasa
from handoff_api.settings import Settings
from tests.handoff_api.multiworker_harness import api_workers, fresh_postgres, redis_prefix
from tests.handoff_api.test_end_to_end_rasa import INDEX, MODEL, RASA, RASA_PYTHON, ROOT, _wait
from tests.net import TEST_REDIS_URL, free_port

pytestmark = [pytest.mark.rasa, pytest.mark.slow, pytest.mark.redis, pytest.mark.postgres, pytest.mark.timeout(600)]
QUESTION = "科创板权限开通要什么条件"


@dataclass
class Cluster:
    """The API's base URL, the integration key, Rasa's wiring and the replica processes (by index)."""

    base: str
    key: str
    wiring: RasaWiring
    replicas: list[subprocess.Popen[bytes]]

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}

    def replica_url(self, index: int) -> str:
        return f"http://127.0.0.1:{self.wiring.ports[index]}"


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    assert RASA.exists() and MODEL.exists(), "run 'make setup' first: Rasa or its trained model is missing"
    assert any(INDEX.glob("*")), "run 'make setup' first: no FAQ index"
    folder = tmp_path_factory.mktemp("replicas")
    with fresh_postgres() as (database_url, key), redis_prefix() as prefix:
        api_port = free_port()
        settings = Settings(
            _env_file=None, api_host="127.0.0.1", api_port=api_port, database_url=database_url, redis_url=TEST_REDIS_URL
        )
        os.environ["ROUTING_REDIS_KEY_PREFIX"] = prefix  # wire_rasa names the lock keys after it
        try:
            wiring = wire_rasa(settings, [free_port(), free_port()], folder / "rasa")
        finally:
            del os.environ["ROUTING_REDIS_KEY_PREFIX"]
        env = {
            **os.environ,
            "RASA_TELEMETRY_ENABLED": "false",
            "APP_MODE": "development",
            "DATABASE_URL": database_url,
            "REDIS_URL": TEST_REDIS_URL,
            "ROUTING_REDIS_KEY_PREFIX": prefix,
            "ROUTING_ALWAYS_OPEN": "true",
            "API_PORT": str(api_port),
            **wiring.api_environment(),
        }
        replicas = [
            subprocess.Popen(
                rasa_server_argv(RASA_PYTHON, MODEL, port, wiring.endpoints_file, wiring.auth_token),
                cwd=ROOT,
                env=env,
                stdout=(folder / f"rasa-{port}.log").open("wb"),
                stderr=subprocess.STDOUT,
            )
            for port in wiring.ports
        ]
        try:
            with api_workers(env, folder / "api.log", workers=2, port=api_port) as base:
                for process, port in zip(replicas, wiring.ports, strict=True):
                    _wait(f"http://127.0.0.1:{port}/status?token={wiring.auth_token}", 180, process)
                yield Cluster(base, key, wiring, replicas)
        finally:
            for process in replicas:
                if process.poll() is None:
                    _stop(process)


def _open(cluster: Cluster, client_id: str) -> str:
    response = httpx.post(f"{cluster.base}/api/v1/conversations", json={"client_id": client_id}, headers=cluster.auth)
    assert response.status_code in {200, 201}, response.text
    return str(response.json()["id"])


def _say(cluster: Cluster, conversation_id: str, text: str) -> list[dict[str, Any]]:
    path = f"{cluster.base}/api/v1/conversations/{conversation_id}/messages"
    response = httpx.post(path, json={"text": text}, headers=cluster.auth, timeout=60)
    assert response.status_code == 200, response.text
    return [reply["payload"] for reply in response.json()["replies"]]


def _tracker(cluster: Cluster, replica: int, conversation_id: str) -> dict[str, Any]:
    url = f"{cluster.replica_url(replica)}/conversations/{conversation_id}/tracker"
    response = httpx.get(url, params={"token": cluster.wiring.auth_token}, timeout=30)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _user_texts(tracker: dict[str, Any]) -> list[str]:
    return [event.get("text") for event in tracker["events"] if event.get("event") == "user"]


def test_two_replicas_share_the_dialogue_state_and_take_over_for_each_other(cluster: Cluster) -> None:
    conversations = {_open(cluster, client_id): None for client_id in ("C10001", "C10002", "C10003", "C10004")}
    by_replica: dict[int, list[str]] = {0: [], 1: []}
    for conversation_id in conversations:
        by_replica[replica_for(conversation_id, 2)].append(conversation_id)
    if not (by_replica[0] and by_replica[1]):  # ids are random: four nearly always reach both, else open more
        for client_id in ("C10005", "C10006", "C10007", "C10008", "C10009", "C10010"):
            conversation_id = _open(cluster, client_id)
            by_replica[replica_for(conversation_id, 2)].append(conversation_id)
    assert by_replica[0] and by_replica[1], by_replica
    stores = yaml.safe_load(cluster.wiring.endpoints_file.read_text(encoding="utf-8"))
    assert (stores["tracker_store"]["dialect"], stores["lock_store"]["type"]) == ("postgresql", "redis")

    for replica, ids in by_replica.items():
        conversation_id = ids[0]
        answers = [p for p in _say(cluster, conversation_id, QUESTION) if p.get("type") == "answer"]
        assert answers, f"replica {replica} gave no answer"
        other = 1 - replica
        assert QUESTION in _user_texts(_tracker(cluster, other, conversation_id))  # the other replica sees it

    moved = by_replica[0][0]
    _stop(cluster.replicas[0])  # the replica `moved` sticks to goes away
    path = f"{cluster.base}/api/v1/conversations/{moved}/feedback"
    response = httpx.post(path, json={"resolved": False}, headers=cluster.auth, timeout=60)
    assert response.status_code == 200, response.text
    escalations = [r["payload"] for r in response.json()["replies"] if r["payload"].get("type") == "escalate"]
    assert escalations, "the other replica did not take the conversation over"
    assert escalations[0]["reason"] == "client_unresolved"
    assert escalations[0]["question"] == QUESTION  # the last question, from the shared tracker
    assert "/feedback_unresolved" in _user_texts(_tracker(cluster, 1, moved))
