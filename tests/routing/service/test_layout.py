"""The service package stays small, and only the journal writes to the record or publishes events."""

from __future__ import annotations

import re
from pathlib import Path

import routing.service

PACKAGE = Path(routing.service.__file__).parent
MODULES = sorted(PACKAGE.glob("*.py"))
MAX_LINES = 400
RECORD_WRITES = re.compile(
    r"record\.(save_transition|append_message|audit|open_ticket|update_ticket|add_feedback|create_conversation"
    r"|replace_clients|replace_staff|set_password_hash|add_rating|bump_token_version|set_staff_active)\b"
)
PUBLISHING = re.compile(r"events\.publish\b")


def test_every_module_is_small() -> None:
    sizes = {path.name: len(path.read_text(encoding="utf-8").splitlines()) for path in MODULES}
    assert sizes and all(lines < MAX_LINES for lines in sizes.values()), sizes


def test_only_the_journal_writes_the_record_or_publishes() -> None:
    for path in MODULES:
        if path.name == "journal.py":
            continue
        source = path.read_text(encoding="utf-8")
        assert not RECORD_WRITES.search(source), f"{path.name} writes the record directly"
        assert not PUBLISHING.search(source), f"{path.name} publishes directly"
