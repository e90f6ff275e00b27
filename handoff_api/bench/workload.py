"""What the virtual clients say and who they are: FAQ questions from the eval set, greetings, client ids."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from knowledge_base.models import Band, Retrieval

GREETINGS = ("你好", "您好", "在吗", "你好呀")
"""Greetings mixed into the turns (the bot answers them with small talk)."""
GREETING_EVERY = 3
"""Every third session opens with a greeting."""
BENCH_CLIENT_PREFIX = "B"
BENCH_RESPONDER = "rsp01"


@dataclass(frozen=True)
class Question:
    """A labelled FAQ question of the eval set."""

    text: str
    expected_id: str


def read_questions(path: Path, limit: int) -> list[Question]:
    """Up to `limit` answerable questions, spread evenly over the eval file (deterministic)."""
    labelled: list[Question] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        row = json.loads(line)
        if isinstance(row.get("expected_id"), str) and isinstance(row.get("query"), str):
            labelled.append(Question(row["query"], row["expected_id"]))
    if limit <= 0 or not labelled:
        return []
    step = max(1, len(labelled) // limit)
    return labelled[::step][:limit]


def answered_by_index(questions: Sequence[Question], retrieve: Callable[[str], Retrieval]) -> list[Question]:
    """The questions the index answers outright with the expected entry (so the bot answers, not escalates)."""
    kept: list[Question] = []
    for question in questions:
        retrieval = retrieve(question.text)
        top = retrieval.top
        if retrieval.band == Band.ANSWER and top is not None and top.entry.id == question.expected_id:
            kept.append(question)
    return kept


class Script:
    """Session texts: questions in a fixed cycle, every GREETING_EVERY-th session opening with a greeting."""

    def __init__(self, questions: Sequence[str], greetings: Sequence[str] = GREETINGS) -> None:
        if not questions:
            raise ValueError("the script needs at least one question")
        self._questions = itertools.cycle(questions)
        self._greetings = itertools.cycle(greetings)
        self._sessions = itertools.count()

    def session(self, turns: int) -> list[str]:
        """The texts of the next session of `turns` turns."""
        texts: list[str] = []
        if next(self._sessions) % GREETING_EVERY == 0 and turns > 1:
            texts.append(next(self._greetings))
        while len(texts) < turns:
            texts.append(next(self._questions))
        return texts

    def question(self) -> str:
        """The next question alone (the floor's retrieval)."""
        return next(self._questions)


def bench_client_ids(count: int) -> list[str]:
    """The ids of the directory clients the benchmark adds: B00001, B00002, ..."""
    return [f"{BENCH_CLIENT_PREFIX}{number:05d}" for number in range(1, count + 1)]


def bench_clients_csv(count: int, branch: str = "上海浦东营业部") -> bytes:
    """A clients file (routing's import format) with `count` ordinary clients held by the demo responder."""
    lines = ["id,name,tier,vip,branch,responder_id,wecom_id"]
    lines += [f"{cid},压测客户{cid[1:]},普通,false,{branch},{BENCH_RESPONDER}," for cid in bench_client_ids(count)]
    return ("\n".join(lines) + "\n").encode("utf-8")


class ClientPool:
    """Hands out client ids round robin, so a session rarely reuses a client's rate-limit budget."""

    def __init__(self, ids: Sequence[str]) -> None:
        if not ids:
            raise ValueError("the client pool is empty")
        self._ids: Iterator[str] = itertools.cycle(ids)
        self.size = len(ids)

    def next(self) -> str:
        """The next client id."""
        return next(self._ids)
