"""The actions' dependencies: the retriever port and its process-wide default.

Actions take a ``RetrieverProvider`` in their constructor; the executor builds them with no
arguments, so the default (one lazily loaded ``FaqService`` per process) is wired here only.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from typing import Any, Protocol

from knowledge_base.models import Retrieval

logger = logging.getLogger(__name__)


class Retriever(Protocol):
    """What the actions need from the knowledge base."""

    def retrieve(self, question: str, k: int = 3) -> Retrieval:
        """Best entries for ``question`` and the band decided by the calibrated score bands."""
        ...


RetrieverProvider = Callable[[], Retriever]
"""Returns the retriever, or raises KnowledgeBaseUnavailable."""


class KnowledgeBaseUnavailable(RuntimeError):
    """The knowledge base could not be loaded (missing or mismatched index, encoder error)."""


class SerializedRetriever:
    """Lets one thread at a time use a retriever whose encoder may not be thread-safe."""

    def __init__(self, inner: Retriever) -> None:
        self._inner = inner
        self._lock = threading.Lock()

    def retrieve(self, question: str, k: int = 3) -> Retrieval:
        with self._lock:
            return self._inner.retrieve(question, k)


class LazyRetriever:
    """Loads the retriever on first use and keeps it; a failed load is retried on the next call,
    so an index built after start-up is picked up without a restart."""

    def __init__(self, load: Callable[[], Retriever]) -> None:
        self._load = load
        self._retriever: Retriever | None = None
        self._lock = threading.Lock()

    def __getstate__(self) -> dict[str, Any]:
        """Pickle only the loader: a spawned worker process loads its own copy."""
        return {"load": self._load}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self._load = state["load"]
        self._retriever = None
        self._lock = threading.Lock()

    def __call__(self) -> Retriever:
        with self._lock:
            if self._retriever is None:
                try:
                    self._retriever = SerializedRetriever(self._load())
                except Exception as exc:
                    logger.exception("knowledge base could not be loaded")
                    raise KnowledgeBaseUnavailable(str(exc)) from exc
            return self._retriever


def load_faq_service() -> Retriever:
    """The process's shared FaqService over the index named by KB_INDEX_DIR (one copy with the API's)."""
    from knowledge_base.service import shared_service
    from knowledge_base.settings import KnowledgeBaseSettings

    index_dir = KnowledgeBaseSettings().index_dir
    logger.info("loading the knowledge base from %s", index_dir)
    return shared_service(index_dir)


default_retriever: RetrieverProvider = LazyRetriever(load_faq_service)
"""The process-wide knowledge base shared by every action."""


def resolve(provider: RetrieverProvider | None) -> RetrieverProvider:
    """The injected provider, else this process's default (looked up at call time, so actions
    pickled into a spawned worker share that worker's single knowledge base)."""
    return provider if provider is not None else default_retriever


async def retrieve_or_none(provider: RetrieverProvider, question: str) -> Retrieval | None:
    """Retrieve off the event loop; None (logged) if the knowledge base is unavailable or fails."""
    try:
        return await asyncio.to_thread(lambda: provider().retrieve(question))
    except KnowledgeBaseUnavailable:
        return None
    except Exception:
        logger.exception("knowledge-base retrieval failed")
        return None
