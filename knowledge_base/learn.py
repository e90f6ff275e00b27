"""Learned phrasings: client questions resolved by an entry, read from feedback JSONL and added to an
index's rows with their provenance (``file:line``), de-duplicated."""

from __future__ import annotations

import hashlib
import json
import unicodedata
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from knowledge_base.corpus import Problem
from knowledge_base.evaluation import QueriesError
from knowledge_base.index import PhrasingRow
from knowledge_base.models import FaqEntry
from knowledge_base.normalize import canonical

MAX_PHRASING_CHARS = 500


@dataclass(frozen=True)
class Feedback:
    """One resolved question: the client's words, the entry that answered it, and ``file:line``."""

    query: str
    faq_id: str
    source: str


@dataclass(frozen=True)
class LearnReport:
    """What merging feedback did: rows added, duplicates skipped, conflicts with other entries skipped."""

    added: int
    duplicates: int
    conflicts: tuple[str, ...]

    def summary(self) -> str:
        return (
            f"{self.added} learned phrasings added, {self.duplicates} duplicates skipped, "
            f"{len(self.conflicts)} skipped as phrasings of another entry"
        )


def phrasing_key(text: str) -> str:
    """Near-identity key: the canonical text's letters and digits (punctuation, spaces, width, case,
    script and domain aliases do not make two phrasings different)."""
    return "".join(ch for ch in canonical(text) if unicodedata.category(ch)[0] in "LN")


def load_feedback(path: Path, known_ids: Collection[str]) -> list[Feedback]:
    """Read ``{"query": ..., "faq_id": ...}`` lines; every malformed line or unknown id is a problem
    (raised together as :class:`QueriesError`)."""
    name = str(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise QueriesError([Problem(name, 0, f"cannot read feedback file: {exc}")]) from exc
    found: list[Feedback] = []
    problems: list[Problem] = []
    for number, text in enumerate(lines, start=1):
        if not text.strip():
            continue
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            problems.append(Problem(name, number, f"malformed JSONL: {exc.msg} (column {exc.colno})"))
            continue
        reason = _line_problem(data, known_ids)
        if reason is not None:
            problems.append(Problem(name, number, reason))
            continue
        found.append(Feedback(str(data["query"]).strip(), str(data["faq_id"]), f"{name}:{number}"))
    if not found and not problems:
        problems.append(Problem(name, 0, "feedback file holds no lines"))
    if problems:
        raise QueriesError(problems)
    return found


def _line_problem(data: object, known_ids: Collection[str]) -> str | None:
    if not isinstance(data, dict):
        return "each line must be a JSON object"
    query = data.get("query")
    faq_id = data.get("faq_id")
    if not isinstance(query, str) or not query.strip():
        return "'query' must be a non-empty string"
    if len(query.strip()) > MAX_PHRASING_CHARS:
        return f"'query' is longer than {MAX_PHRASING_CHARS} characters"
    if not isinstance(faq_id, str) or not faq_id.strip():
        return "'faq_id' must be an entry id string"
    if faq_id not in known_ids:
        return f"faq_id '{faq_id}' is not in the index"
    return None


def merge_learned(
    entries: Sequence[FaqEntry], rows: Sequence[PhrasingRow], feedback: Iterable[Feedback]
) -> tuple[list[PhrasingRow], LearnReport]:
    """``rows`` plus the new phrasings, each placed after its entry's existing rows; a phrasing already
    held by the same entry is a duplicate, one held by another entry a conflict (both are skipped)."""
    owner: dict[str, str] = {}
    for entry in entries:
        for text in entry.phrasings:
            owner.setdefault(phrasing_key(text), entry.id)
    for row in rows:
        owner.setdefault(phrasing_key(row.text), row.entry_id)
    added: dict[str, list[PhrasingRow]] = {}
    duplicates = 0
    conflicts: list[str] = []
    for item in feedback:
        key = phrasing_key(item.query)
        holder = owner.get(key)
        if holder == item.faq_id or not key:
            duplicates += 1
            continue
        if holder is not None:
            conflicts.append(f"{item.source}: '{item.query}' is already a phrasing of '{holder}'")
            continue
        owner[key] = item.faq_id
        added.setdefault(item.faq_id, []).append(PhrasingRow(item.faq_id, item.query, item.source))
    merged: list[PhrasingRow] = []
    by_entry: dict[str, list[PhrasingRow]] = {}
    for row in rows:
        by_entry.setdefault(row.entry_id, []).append(row)
    for entry in entries:
        merged += by_entry.get(entry.id, []) + added.get(entry.id, [])
    report = LearnReport(sum(len(v) for v in added.values()), duplicates, tuple(conflicts))
    return merged, report


def learned_hash(rows: Iterable[PhrasingRow]) -> str | None:
    """sha256 of the learned rows (entry, text, source), None when there are none."""
    learned = [row.to_json() for row in rows if row.learned]
    if not learned:
        return None
    payload = json.dumps(learned, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def learned_summary(rows: Iterable[PhrasingRow]) -> dict[str, object]:
    """Counts of learned rows per source file, for the index meta."""
    files: dict[str, int] = {}
    for row in rows:
        if row.learned:
            path = row.source.rsplit(":", 1)[0]
            files[path] = files.get(path, 0) + 1
    return {"phrasings": sum(files.values()), "files": files}
