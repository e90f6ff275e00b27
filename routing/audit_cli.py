"""`python -m routing audit verify | tail`: check the audit log's hash chain, show its latest entries masked.

    python -m routing audit verify [--anchor SEQ:HASH ...]   exit 0 and "OK" with the count, 1 if broken
    python -m routing audit tail [-n N]                      the newest N entries (default 20), masked

Personal data is masked with the one masking function, knowledge_base.personal_data.mask_personal_data.
routing may not import knowledge_base (an import contract), so this command line, the composition root
of its own process, loads it by name through the TextMasker port, as handoff_api.main registers bot.actions
by name; if it cannot be loaded, tail refuses to print rather than print unmasked entries.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
from collections.abc import Awaitable, Callable
from typing import TextIO, TypeVar

from routing.audit import ChainedEntry, ChainReport, canonical_json
from routing.sql_audit import AuditLogReader
from routing.sql_engine import create_engine_for

T = TypeVar("T")
TextMasker = Callable[[str], str]
"""The port: text in, the same text with personal data masked."""

PERSONAL_DATA_MASKER = "knowledge_base.personal_data:mask_personal_data"
EXIT_BROKEN = 1
DEFAULT_TAIL = 20
MAX_TAIL = 10_000


class MaskerUnavailable(Exception):
    """The personal-data masker could not be loaded; nothing is printed unmasked."""


def load_masker(spec: str | None = None) -> TextMasker:
    """The callable named "module:function" (default PERSONAL_DATA_MASKER); MaskerUnavailable if it cannot load."""
    spec = spec or PERSONAL_DATA_MASKER
    module_name, _, function_name = spec.partition(":")
    try:
        function = getattr(importlib.import_module(module_name), function_name)
    except (ImportError, AttributeError) as error:
        raise MaskerUnavailable(f"cannot load the personal-data masker {spec}: {error}") from error
    if not callable(function):
        raise MaskerUnavailable(f"{spec} is not callable")

    def mask(text: str) -> str:
        return str(function(text))

    return mask


def tail_count(raw: str) -> int:
    """argparse type of -n: a whole number from 1 to MAX_TAIL."""
    try:
        count = int(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{raw!r} is not a whole number") from None
    if not 1 <= count <= MAX_TAIL:
        raise argparse.ArgumentTypeError(f"give a number of entries from 1 to {MAX_TAIL}, not {count}")
    return count


def anchor(raw: str) -> tuple[int, str]:
    """argparse type of --anchor: SEQ:HASH, as `audit verify` printed it earlier."""
    seq, _, digest = raw.partition(":")
    digest = digest.strip().lower()
    well_formed = len(digest) == 64 and all(c in "0123456789abcdef" for c in digest)
    if not seq.strip().isdigit() or int(seq) < 1 or not well_formed:
        raise argparse.ArgumentTypeError(f"{raw!r} is not SEQ:HASH (a sequence number and a 64-digit hex hash)")
    return int(seq), digest


def add_audit_commands(
    commands: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    """The `audit` command and its `verify` and `tail` subcommands."""
    audit = commands.add_parser("audit", help="check or show the hash-chained audit log")
    actions = audit.add_subparsers(dest="audit_command", required=True)
    verify = actions.add_parser(
        "verify", parents=[common], help="walk the hash chain; exit 1 at the first broken entry"
    )
    verify.add_argument(
        "--anchor",
        type=anchor,
        action="append",
        default=[],
        metavar="SEQ:HASH",
        help="a head printed by an earlier verify (kept outside the database): must still be in the chain",
    )
    tail = actions.add_parser("tail", parents=[common], help="print the latest entries, personal data masked")
    tail.add_argument("-n", type=tail_count, default=DEFAULT_TAIL, help=f"how many entries (default {DEFAULT_TAIL})")


def describe(report: ChainReport) -> str:
    """One line: OK with the count and the head, or the first broken entry and what is wrong."""
    if report.ok:
        return f"audit log OK: {report.count} entries, head {report.head_seq}:{report.head_hash}"
    where = f"entry id {report.broken_id} (seq {report.broken_seq})" if report.broken_id else f"seq {report.broken_seq}"
    return f"audit log BROKEN at {where}: {report.problem} ({report.count} entries before it are intact)"


def format_entry(entry: ChainedEntry, mask: TextMasker) -> str:
    """One entry on one line, every text masked."""
    detail = mask(canonical_json(entry.detail))
    return (
        f"#{entry.seq} {entry.at.isoformat(timespec='seconds')} {mask(entry.actor)} {entry.action} "
        f"{mask(entry.subject)} {detail}"
    )


async def with_reader(database_url: str, work: Callable[[AuditLogReader], Awaitable[T]]) -> T:
    """Run `work` against the audit log at `database_url`, disposing the engine afterwards."""
    engine = create_engine_for(database_url)
    try:
        return await work(AuditLogReader(engine))
    finally:
        await engine.dispose()


def run_audit(args: argparse.Namespace, out: TextIO, masker: TextMasker | None = None) -> int:
    """Execute `audit verify` or `audit tail`; the exit code."""
    url: str = args.database_url
    if args.audit_command == "verify":
        anchors = dict(args.anchor)
        report = asyncio.run(with_reader(url, lambda reader: reader.verify(anchors)))
        print(describe(report), file=out)
        return 0 if report.ok else EXIT_BROKEN
    mask = masker or load_masker()
    entries = asyncio.run(with_reader(url, lambda reader: reader.latest(args.n)))
    for entry in entries:
        print(format_entry(entry, mask), file=out)
    if not entries:
        print("the audit log is empty", file=out)
    return 0
