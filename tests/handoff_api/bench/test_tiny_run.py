"""One tiny real run: the quick plan's load against the real app (scripted bot) and a stand-in Rasa."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.types import ASGIApp

from handoff_api.bench.engine import free_port, prepare_database
from handoff_api.bench.plans import QUICK
from handoff_api.bench.report_turns import turn_section
from handoff_api.bench.turns import run_turns
from handoff_api.bench.workload import ClientPool, Question, bench_client_ids
from handoff_api.client_tokens import issue_client_token
from handoff_api.main import create_app
from handoff_api.settings import Settings
from knowledge_base.models import Band, Retrieval
from routing.settings import RoutingSettings
from tests.handoff_api.conftest import ScriptedBot


@dataclass
class Local:
    """The app's and the stand-in Rasa's addresses (the harness's Endpoints)."""

    settings: Settings
    api_port: int
    rasa_port: int

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    @property
    def ws_base(self) -> str:
        return f"ws://127.0.0.1:{self.api_port}"

    @property
    def rasa_urls(self) -> list[str]:
        return [f"http://127.0.0.1:{self.rasa_port}"]

    def token(self, client_id: str) -> str:
        return issue_client_token(self.settings, client_id, datetime.now(UTC))

    def cpu_seconds(self) -> dict[str, float]:
        return {"API": time.process_time()}  # the app runs in this process


async def rasa_webhook(request: Request) -> JSONResponse:
    body = await request.json()
    return JSONResponse([{"recipient_id": body["sender"], "text": "您好，我是智能投顾机器人。"}])


async def wait_started(server: uvicorn.Server) -> None:
    deadline = asyncio.get_running_loop().time() + 20
    while not server.started:  # uvicorn offers no event to wait on
        assert asyncio.get_running_loop().time() < deadline, "the server did not start"
        await asyncio.sleep(0.05)


@contextlib.asynccontextmanager
async def serving(app: ASGIApp) -> AsyncIterator[int]:
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    task = asyncio.create_task(server.serve())
    try:
        await wait_started(server)
        yield port
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 20)


async def test_the_quick_plan_runs_every_path_without_errors(
    settings: Settings, bot: ScriptedBot, tmp_path: Path
) -> None:
    await prepare_database(settings.database_url, clients=20)
    app = create_app(settings, bot=bot, routing_settings=RoutingSettings(always_open=True))
    rasa = Starlette(routes=[Route("/webhooks/rest/webhook", rasa_webhook, methods=["POST"])])
    lines: list[str] = []
    async with serving(app) as api_port, serving(rasa) as rasa_port:
        async with asyncio.timeout(60):
            results = await run_turns(
                Local(settings, api_port, rasa_port),
                QUICK.turns,
                questions=[Question("科创板权限怎么开通", "bg-kcb-threshold")],
                retrieve=lambda question: Retrieval(question, Band.ANSWER),
                pool=ClientPool(bench_client_ids(20)),
                progress=lines.append,
            )
    assert results.questions == ["科创板权限怎么开通"] and results.rejected == []
    assert [level.shape.clients for level in results.levels] == [1, 2]
    for level in results.levels:
        for kind, runs in level.runs.items():
            [only] = runs
            summary = only.summary()
            assert summary.errors == 0, (kind, summary.error_kinds)
            assert summary.ok == level.shape.clients * level.shape.turns_per_client, kind
            assert 0 < summary.p50 <= summary.p95 <= summary.p99 < 5000
    assert len([line for line in lines if "round 1" in line]) == 6
    texts = [text for _, text in bot.calls]
    assert "科创板权限怎么开通" in texts and "你好" in texts
    section = turn_section(results, "the test app")
    assert "| 2 | errors | 0 of 6 | 0 of 6 | – | – | – |" in section
    assert "### CPU per turn" in section and "turns/s ceiling on 2 cores" in section
    rest = [run for level in results.levels for run in level.runs["rest"]]
    assert all(run.cpu_ms_per_turn("API") > 0 and run.cpu_ms_per_turn("harness") > 0 for run in rest)
