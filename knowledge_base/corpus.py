"""Corpus loader and validator for YAML and JSONL FAQ sources, with ``file:line`` problem reports."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

import yaml

from knowledge_base.models import Category, FaqEntry, FollowUpQueue
from knowledge_base.normalize import fold

YAML_SUFFIXES = (".yml", ".yaml")
JSONL_SUFFIXES = (".jsonl",)
CORPUS_SUFFIXES = YAML_SUFFIXES + JSONL_SUFFIXES
E = TypeVar("E", Category, FollowUpQueue)
REQUIRED_TEXT_FIELDS = ("id", "category", "queue", "question", "answer")
KNOWN_FIELDS = frozenset({*REQUIRED_TEXT_FIELDS, "similar", "tags", "valid_from", "valid_to"})


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a corpus, located at ``path:line``."""

    path: str
    line: int
    reason: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.reason}"


class CorpusError(Exception):
    """The corpus is invalid; ``problems`` lists every problem found."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = tuple(problems)
        super().__init__("\n".join(str(problem) for problem in self.problems))


@dataclass(frozen=True)
class RawEntry:
    """An entry as read from a file, with the line of the entry and of each field."""

    data: dict[str, Any]
    path: str
    line: int
    field_lines: dict[str, int]
    item_lines: dict[str, tuple[int, ...]]

    def line_of(self, field: str) -> int:
        """Line of ``field`` if it was present, else the entry's own line."""
        return self.field_lines.get(field, self.line)


@dataclass(frozen=True)
class Corpus:
    """A validated corpus: its entries in source order and their content hash."""

    entries: tuple[FaqEntry, ...]
    sources: tuple[str, ...]

    @property
    def hash(self) -> str:
        """sha256 of the canonical serialisation."""
        return corpus_hash(self.entries)

    @property
    def phrasing_count(self) -> int:
        """Number of questions plus similar phrasings."""
        return sum(len(entry.phrasings) for entry in self.entries)


class _StringDateLoader(yaml.SafeLoader):
    """SafeLoader that keeps dates as strings, so bad dates are reported rather than crashing."""


_StringDateLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def corpus_hash(entries: Iterable[FaqEntry]) -> str:
    """sha256 over entries serialised as sorted-key JSON, ordered by id."""
    canonical = [entry.to_dict() for entry in sorted(entries, key=lambda entry: entry.id)]
    payload = json.dumps(canonical, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def discover_files(paths: Sequence[Path]) -> tuple[list[Path], list[Problem]]:
    """Expand directories into their corpus files (sorted); report missing or unsupported paths."""
    files: list[Path] = []
    problems: list[Problem] = []
    for path in paths:
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in CORPUS_SUFFIXES)
            if not found:
                problems.append(Problem(str(path), 0, "directory holds no .yml/.yaml/.jsonl file"))
            files.extend(found)
        elif path.is_file():
            if path.suffix.lower() not in CORPUS_SUFFIXES:
                problems.append(Problem(str(path), 0, "unsupported file type (expected .yml, .yaml or .jsonl)"))
            else:
                files.append(path)
        else:
            problems.append(Problem(str(path), 0, "no such file or directory"))
    return files, problems


def read_yaml(path: Path) -> tuple[list[RawEntry], list[Problem]]:
    """Read a YAML file holding a top-level list of entry mappings."""
    name = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return [], [Problem(name, 0, f"cannot read file: {exc}")]
    loader = _StringDateLoader(text)
    try:
        root = loader.get_single_node()
        if root is None:
            return [], [Problem(name, 1, "empty file (expected a list of entries)")]
        if not isinstance(root, yaml.SequenceNode):
            return [], [Problem(name, root.start_mark.line + 1, "top level must be a list of entries")]
        raws: list[RawEntry] = []
        problems: list[Problem] = []
        for item in root.value:
            line = item.start_mark.line + 1
            if not isinstance(item, yaml.MappingNode):
                problems.append(Problem(name, line, "entry must be a mapping of fields"))
                continue
            data = loader.construct_mapping(item, deep=True)
            field_lines: dict[str, int] = {}
            item_lines: dict[str, tuple[int, ...]] = {}
            for key_node, value_node in item.value:
                key = str(key_node.value)
                field_lines[key] = key_node.start_mark.line + 1
                if isinstance(value_node, yaml.SequenceNode):
                    item_lines[key] = tuple(child.start_mark.line + 1 for child in value_node.value)
            raws.append(RawEntry({str(k): v for k, v in data.items()}, name, line, field_lines, item_lines))
        return raws, problems
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 0
        return [], [Problem(name, line, f"malformed YAML: {exc.problem or exc.context}")]
    except yaml.YAMLError as exc:
        return [], [Problem(name, 0, f"malformed YAML: {exc}")]
    finally:
        loader.dispose()


def read_jsonl(path: Path) -> tuple[list[RawEntry], list[Problem]]:
    """Read a JSONL file holding one entry object per line (blank lines are ignored)."""
    name = str(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        return [], [Problem(name, 0, f"cannot read file: {exc}")]
    raws: list[RawEntry] = []
    problems: list[Problem] = []
    for number, text in enumerate(lines, start=1):
        if not text.strip():
            continue
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            problems.append(Problem(name, number, f"malformed JSONL: {exc.msg} (column {exc.colno})"))
            continue
        if not isinstance(data, dict):
            problems.append(Problem(name, number, "entry must be a JSON object"))
            continue
        fields = {key: number for key in data}
        items = {key: (number,) * len(value) for key, value in data.items() if isinstance(value, list)}
        raws.append(RawEntry(data, name, number, fields, items))
    return raws, problems


def _text(raw: RawEntry, field: str, problems: list[Problem]) -> str | None:
    value = raw.data.get(field)
    if field not in raw.data or value is None:
        problems.append(Problem(raw.path, raw.line, f"missing field '{field}'"))
        return None
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        problems.append(Problem(raw.path, raw.line_of(field), f"field '{field}' must be a string"))
        return None
    text = str(value).strip()
    if not text:
        problems.append(Problem(raw.path, raw.line_of(field), f"field '{field}' is empty"))
        return None
    return text


def _text_list(raw: RawEntry, field: str, problems: list[Problem]) -> tuple[str, ...]:
    value = raw.data.get(field)
    if value is None:
        return ()
    if not isinstance(value, list):
        problems.append(Problem(raw.path, raw.line_of(field), f"field '{field}' must be a list of strings"))
        return ()
    lines = raw.item_lines.get(field, ())
    items: list[str] = []
    for index, item in enumerate(value):
        line = lines[index] if index < len(lines) else raw.line_of(field)
        if not isinstance(item, str | int | float) or isinstance(item, bool) or not str(item).strip():
            problems.append(Problem(raw.path, line, f"'{field}' item {index + 1} is empty or not a string"))
            continue
        items.append(str(item).strip())
    return tuple(items)


def _date(raw: RawEntry, field: str, problems: list[Problem]) -> date | None:
    value = raw.data.get(field)
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        problems.append(
            Problem(raw.path, raw.line_of(field), f"field '{field}' is not a valid YYYY-MM-DD date: {value!r}")
        )
        return None


def _enum_value(raw: RawEntry, field: str, enum: type[E], problems: list[Problem]) -> E | None:
    text = _text(raw, field, problems)
    if text is None:
        return None
    try:
        return enum(text)
    except ValueError:
        allowed = ", ".join(member.value for member in enum)
        problems.append(Problem(raw.path, raw.line_of(field), f"unknown {field} '{text}' (expected one of: {allowed})"))
        return None


def build_entry(raw: RawEntry, problems: list[Problem]) -> FaqEntry | None:
    """Validate one raw entry; append its problems and return the entry if it is sound."""
    before = len(problems)
    entry_id = _text(raw, "id", problems)
    category = _enum_value(raw, "category", Category, problems)
    queue = _enum_value(raw, "queue", FollowUpQueue, problems)
    question = _text(raw, "question", problems)
    answer = _text(raw, "answer", problems)
    similar = _text_list(raw, "similar", problems)
    tags = _text_list(raw, "tags", problems)
    valid_from = _date(raw, "valid_from", problems)
    valid_to = _date(raw, "valid_to", problems)
    if valid_from and valid_to and valid_from > valid_to:
        problems.append(Problem(raw.path, raw.line_of("valid_to"), "valid_to is earlier than valid_from"))
    if len(problems) > before:
        return None
    assert entry_id and category and queue and question and answer
    return FaqEntry(entry_id, category, queue, question, similar, answer, tags, valid_from, valid_to)


def _phrasing_lines(raw: RawEntry) -> list[int]:
    similar_lines = list(raw.item_lines.get("similar", ()))
    return [raw.line_of("question"), *similar_lines]


def _check_uniqueness(checked: Sequence[tuple[RawEntry, FaqEntry]], problems: list[Problem]) -> None:
    first_id: dict[str, RawEntry] = {}
    first_phrasing: dict[str, tuple[str, str, int]] = {}
    for raw, entry in checked:
        if entry.id in first_id:
            seen = first_id[entry.id]
            problems.append(
                Problem(raw.path, raw.line_of("id"), f"duplicate id '{entry.id}' (first at {seen.path}:{seen.line})")
            )
            continue
        first_id[entry.id] = raw
        lines = _phrasing_lines(raw)
        for index, phrasing in enumerate(entry.phrasings):
            key = fold(phrasing)
            line = lines[index] if index < len(lines) else raw.line
            owner = first_phrasing.get(key)
            if owner is None:
                first_phrasing[key] = (entry.id, raw.path, line)
            elif owner[0] != entry.id:
                problems.append(
                    Problem(
                        raw.path,
                        line,
                        f"phrasing '{phrasing}' of '{entry.id}' duplicates one of '{owner[0]}' ({owner[1]}:{owner[2]})",
                    )
                )


def read_raw(path: Path) -> tuple[list[RawEntry], list[Problem]]:
    """Read one corpus file of either format."""
    if path.suffix.lower() in JSONL_SUFFIXES:
        return read_jsonl(path)
    return read_yaml(path)


def load_corpus(paths: Sequence[Path]) -> Corpus:
    """Load and validate every entry under ``paths`` (files or directories); raise :class:`CorpusError`."""
    files, problems = discover_files(paths)
    checked: list[tuple[RawEntry, FaqEntry]] = []
    for path in files:
        raws, file_problems = read_raw(path)
        problems.extend(file_problems)
        for raw in raws:
            entry = build_entry(raw, problems)
            if entry is not None:
                checked.append((raw, entry))
    _check_uniqueness(checked, problems)
    if not files and not problems:
        problems.append(Problem(",".join(str(p) for p in paths) or "-", 0, "no corpus files given"))
    if not checked and not problems:
        problems.append(Problem(str(files[0]), 0, "corpus holds no entries"))
    if problems:
        raise CorpusError(problems)
    return Corpus(tuple(entry for _, entry in checked), tuple(str(path) for path in files))


def category_counts(entries: Iterable[FaqEntry]) -> dict[str, int]:
    """Entries per category, every category listed."""
    counts = {category.value: 0 for category in Category}
    for entry in entries:
        counts[entry.category.value] += 1
    return counts
