"""Learned index versions: one worker builds the corpus files plus the approved overlay into a new
directory, and every worker swaps to the newest ready version on its watch tick.

The build runs in a worker thread; the new index is fully loaded (in another thread) before one reference
assignment (FaqService.adopt) makes it live, so the old index serves until then. A failed build is
recorded as failed and replaces nothing; a version a worker cannot load is refused and the old one kept."""

from __future__ import annotations

import asyncio
import json
import logging
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path

from handoff_api.learning.models import BuildStatus, Candidate, CandidateKind, IndexVersion, Status
from handoff_api.learning.store import LearningStore
from knowledge_base.builder import BuildOptions, build, learn
from knowledge_base.index import read_index
from knowledge_base.service import FaqService
from routing.ports import Clock

log = logging.getLogger(__name__)
OVERLAY_LIMIT = 100_000
KEEP_VERSIONS = 3
"""Built versions kept on disk (the newest ones; older directories and their inputs are removed)."""
BUILD_TIMEOUT = timedelta(minutes=15)


@dataclass(frozen=True)
class BuildInputs:
    """Where a build reads from and writes to."""

    faq_paths: tuple[Path, ...]
    """The corpus files (used when draft entries join)."""
    base_index: Path
    """The index built from the corpus files (phrasings are learned onto it)."""
    root: Path
    """Where learned versions are written: ``<root>/v<version>``."""


def overlay_files(approved: Sequence[Candidate], known_ids: set[str], directory: Path) -> tuple[Path, Path | None]:
    """Write the approved phrasings (feedback lines) and draft entries (corpus lines) of the overlay."""
    directory.mkdir(parents=True, exist_ok=True)
    drafts = [c.entry for c in approved if c.kind is CandidateKind.ENTRY and c.entry]
    ids = known_ids | {str(entry["id"]) for entry in drafts}
    phrasings = directory / "approved.jsonl"
    lines = [
        json.dumps({"query": c.text, "faq_id": c.faq_id, "candidate": c.id}, ensure_ascii=False)
        for c in approved
        if c.kind is CandidateKind.PHRASING and c.faq_id in ids
    ]
    phrasings.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    if not drafts:
        return phrasings, None
    entries = directory / "drafts.jsonl"
    entries.write_text("".join(json.dumps(e, ensure_ascii=False) + "\n" for e in drafts), encoding="utf-8")
    return phrasings, entries


def build_version(inputs: BuildInputs, version: int, approved: Sequence[Candidate], live: FaqService) -> Path:
    """Build version ``version`` (blocking; run it in a thread). Raises on any failure, writing no version."""
    out = inputs.root / f"v{version}"
    known = {entry.id for entry in read_index(inputs.base_index).entries}
    phrasings, drafts = overlay_files(approved, known, inputs.root / f"inputs-v{version}")
    has_phrasings = bool(phrasings.read_text(encoding="utf-8").strip())
    encoder = live.encoder
    if drafts is not None:
        options = BuildOptions(encoder=encoder.name, feedback_file=phrasings if has_phrasings else None)
        build([*inputs.faq_paths, drafts], out, options, encoder=encoder, log=log.info)
    elif has_phrasings:
        learn(inputs.base_index, phrasings, out, encoder=encoder, log=log.info)
    else:
        raise ValueError("nothing approved to build")
    return out


def prune_versions(root: Path, newest: int, keep: int = KEEP_VERSIONS) -> list[Path]:
    """Remove version directories (and their overlay inputs) older than the ``keep`` newest; what was removed."""
    removed: list[Path] = []
    for path in sorted(root.glob("*v[0-9]*")):
        number = path.name.removeprefix("inputs-").removeprefix("v")
        if path.is_dir() and number.isdigit() and int(number) <= newest - keep:
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed


def load_version(directory: Path, live: FaqService, version: int) -> FaqService:
    """Load a built version with the live encoder (blocking; run it in a thread)."""
    loaded = read_index(directory, expected_encoder=live.encoder.name)
    return FaqService(loaded, live.encoder, version=version)


class LiveIndex:
    """One worker's side of the loop: builds claimed versions, swaps to the newest ready one."""

    def __init__(  # noqa: PLR0917 - the worker's collaborators
        self,
        live: FaqService,
        store: LearningStore,
        inputs: BuildInputs,
        clock: Clock,
        worker: str,
        build_timeout: timedelta = BUILD_TIMEOUT,
    ) -> None:
        self._build_timeout = build_timeout
        self._live = live
        self._store = store
        self._inputs = inputs
        self._clock = clock
        self._worker = worker
        self._refused: set[int] = set()

    @property
    def version(self) -> int | None:
        """The version this worker serves (None: the index built from the corpus files)."""
        return self._live.version

    async def tick(self) -> None:
        """Build a pending version if this worker wins it, then serve the newest ready version."""
        now = self._clock.now()
        claimed = await self._store.claim_build(self._worker, now, now - self._build_timeout)
        if claimed is not None:
            await self._build(claimed)
        await self.adopt_latest()

    async def _build(self, claimed: IndexVersion) -> None:
        approved = await self._store.candidates(Status.APPROVED, OVERLAY_LIMIT)
        try:
            out = await asyncio.to_thread(build_version, self._inputs, claimed.version, approved, self._live)
        except Exception as exc:
            log.exception("index version %s failed to build; the live index stays", claimed.version)
            failed = replace(claimed, status=BuildStatus.FAILED, error=str(exc)[:2000], finished_at=self._clock.now())
            await self._store.finish_build(failed)
            return
        phrasings = sum(1 for c in approved if c.kind is CandidateKind.PHRASING)
        ready = replace(
            claimed,
            status=BuildStatus.READY,
            directory=str(out),
            phrasings=phrasings,
            entries=len(approved) - phrasings,
            finished_at=self._clock.now(),
        )
        await self._store.finish_build(ready)
        log.info("index version %s built at %s", claimed.version, out)
        await asyncio.to_thread(prune_versions, self._inputs.root, claimed.version)

    async def adopt_latest(self) -> bool:
        """Swap to the newest ready version if it is newer than the one served; whether it swapped."""
        latest = await self._store.latest_ready()
        current = self._live.version or 0
        if latest is None or latest.version <= current or latest.version in self._refused or not latest.directory:
            return False
        try:
            fresh = await asyncio.to_thread(load_version, Path(latest.directory), self._live, latest.version)
        except Exception:
            log.exception("index version %s could not be loaded; keeping version %s", latest.version, current)
            self._refused.add(latest.version)
            return False
        self._live.adopt(fresh)
        log.info("serving index version %s", latest.version)
        return True
