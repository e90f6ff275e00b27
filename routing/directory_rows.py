"""Reading directory CSV files: decoding, rows keyed by column, field parsers and the problems found.

Pure: bytes in, rows and values out, or DirectoryImportError listing every problem with its row number
(row 1 is the header, as a spreadsheet shows it).
"""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

from routing.models import QueueName, Role

T = TypeVar("T")

DEFAULT_SKILLS = {Role.ADVISOR: frozenset({QueueName.ADVISOR}), Role.SERVICE: frozenset({QueueName.SERVICE})}
PRACTICE_NUMBER = re.compile(r"S\d{13}")
IDENTIFIER = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}")
TRUE_WORDS = frozenset({"true", "1", "yes", "y", "是"})
FALSE_WORDS = frozenset({"false", "0", "no", "n", "否"})


@dataclass(frozen=True)
class ImportProblem:
    """One reason a file was rejected; row None means the whole file."""

    row: int | None
    message: str

    def __str__(self) -> str:
        return self.message if self.row is None else f"row {self.row}: {self.message}"


class DirectoryImportError(ValueError):
    """The file was rejected; `problems` lists every reason found."""

    def __init__(self, what: str, problems: Sequence[ImportProblem]) -> None:
        self.problems = list(problems)
        lines = "\n".join(f"  {problem}" for problem in self.problems)
        super().__init__(f"{what} rejected, nothing imported ({len(self.problems)} problem(s)):\n{lines}")


def decode(data: bytes) -> str:
    """The file's text; DirectoryImportError naming the first bad line if it is neither encoding.

    UTF-8 (with or without the BOM Excel's "CSV UTF-8" writes) first, then GB18030 (a superset of
    GBK, what Excel's plain "CSV" writes on Chinese Windows). UTF-8 goes first: it rarely decodes
    anything else by accident, while GB18030 would misread UTF-8 Chinese.
    """
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        utf8_error = error
    try:
        return data.decode("gb18030")
    except UnicodeDecodeError:
        pass
    line = data[: utf8_error.start].count(b"\n") + 1
    message = f"neither UTF-8 nor GB18030 (byte {utf8_error.start}); save the file as 'CSV UTF-8'"
    raise DirectoryImportError("file", [ImportProblem(line, message)]) from utf8_error


def read_rows(data: bytes, required: Sequence[str], optional: Sequence[str], what: str) -> list[dict[str, str]]:
    """Decode and split a CSV file into rows keyed by column, checking the header."""
    text = decode(data)
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        records = list(reader)
    except csv.Error as error:
        raise DirectoryImportError(what, [ImportProblem(reader.line_num, f"malformed CSV: {error}")]) from error
    if not records or not any(cell.strip() for cell in records[0]):
        raise DirectoryImportError(what, [ImportProblem(None, "the file is empty (no header row)")])
    header = [cell.strip().lower() for cell in records[0]]
    problems = _header_problems(header, required, optional)
    if problems:
        raise DirectoryImportError(what, problems)
    rows: list[dict[str, str]] = []
    for index, cells in enumerate(records[1:], start=2):
        if not any(cell.strip() for cell in cells):
            continue
        if len(cells) != len(header):
            problems.append(ImportProblem(index, f"has {len(cells)} fields, the header has {len(header)}"))
            continue
        row = {name: cell.strip() for name, cell in zip(header, cells, strict=True)}
        row["__row__"] = str(index)
        rows.append(row)
    if problems:
        raise DirectoryImportError(what, problems)
    if not rows:
        raise DirectoryImportError(what, [ImportProblem(None, "the file has a header but no rows")])
    return rows


def _header_problems(header: list[str], required: Sequence[str], optional: Sequence[str]) -> list[ImportProblem]:
    problems = [ImportProblem(1, f"missing column {name!r}") for name in required if name not in header]
    known = set(required) | set(optional)
    problems += [ImportProblem(1, f"unknown column {name!r}") for name in header if name and name not in known]
    problems += [ImportProblem(1, f"column {name!r} appears twice") for name, n in Counter(header).items() if n > 1]
    return problems


def row_number(row: Mapping[str, str]) -> int:
    return int(row["__row__"])


def check(problems: list[ImportProblem], row: int, parse: Callable[[], T]) -> T | None:
    try:
        return parse()
    except ValueError as error:
        problems.append(ImportProblem(row, str(error)))
        return None


# --- field parsers -------------------------------------------------------------------------------


def parse_identifier(value: str, column: str) -> str:
    """A directory id: letters, digits and _.@- (at most 64 characters)."""
    if not value:
        raise ValueError(f"{column} is empty")
    if not IDENTIFIER.fullmatch(value):
        raise ValueError(f"{column} {value!r} must be letters, digits or _.@- (at most 64 characters)")
    return value


def parse_required(value: str, column: str, max_length: int = 100) -> str:
    """A non-empty text field."""
    if not value:
        raise ValueError(f"{column} is empty")
    if len(value) > max_length:
        raise ValueError(f"{column} is longer than {max_length} characters")
    return value


def parse_bool(value: str, column: str) -> bool:
    """true/false, 1/0, yes/no, y/n or 是/否 (any case)."""
    word = value.lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ValueError(f"{column} {value!r} is not a boolean (use true or false)")


def parse_role(value: str) -> Role:
    """One of the staff roles."""
    try:
        return Role(value.lower())
    except ValueError:
        allowed = ", ".join(role.value for role in Role)
        raise ValueError(f"role {value!r} is not one of {allowed}") from None


def parse_skills(value: str, role: Role) -> frozenset[QueueName]:
    """Queues a staff member serves, "|"-separated; empty means the role's own queue."""
    parts = [part.strip().lower() for part in value.split("|") if part.strip()]
    if not parts:
        return DEFAULT_SKILLS.get(role, frozenset())
    skills: set[QueueName] = set()
    for part in parts:
        try:
            skills.add(QueueName(part))
        except ValueError:
            raise ValueError(f"skill {part!r} is not one of advisor, service") from None
    return frozenset(skills)


def parse_concurrency(value: str) -> int:
    """A positive whole number of simultaneous conversations."""
    try:
        number = int(value)
    except ValueError:
        raise ValueError(f"max_concurrency {value!r} is not a whole number") from None
    if number <= 0:
        raise ValueError(f"max_concurrency must be positive, got {number}")
    return number


def parse_practice_number(value: str) -> str | None:
    """An SAC practice number such as S0570120080012, or None when empty."""
    if not value:
        return None
    if not PRACTICE_NUMBER.fullmatch(value.upper()):
        raise ValueError(f"practice_number {value!r} must be S followed by 13 digits")
    return value.upper()


def optional(value: str | None) -> str | None:
    return value or None


def duplicates(rows: Sequence[Mapping[str, str]], column: str, label: str) -> list[ImportProblem]:
    first_seen: dict[str, int] = {}
    problems: list[ImportProblem] = []
    for row in rows:
        value = row.get(column, "")
        if not value:
            continue
        number = row_number(row)
        if value in first_seen:
            problems.append(ImportProblem(number, f"duplicate {label} {value!r} (first on row {first_seen[value]})"))
        else:
            first_seen[value] = number
    return problems


def problem_order(problem: ImportProblem) -> tuple[int, str]:
    return (problem.row if problem.row is not None else 0, problem.message)
