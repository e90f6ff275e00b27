from __future__ import annotations

import json
from pathlib import Path

import pytest

from knowledge_base.evaluation import QueriesError
from knowledge_base.index import PhrasingRow
from knowledge_base.learn import Feedback, learned_hash, learned_summary, load_feedback, merge_learned, phrasing_key
from knowledge_base.models import Category, FaqEntry, FollowUpQueue

ENTRIES = (
    FaqEntry("kcb", Category.BUSINESS_GUIDE, FollowUpQueue.SERVICE, "科创板权限怎么开？", ("688怎么买",), "答"),
    FaqEntry("pwd", Category.CUSTOMER_SERVICE, FollowUpQueue.SERVICE, "交易密码忘了怎么办？", (), "答"),
)
ROWS = [
    PhrasingRow("kcb", "科创板权限怎么开？"),
    PhrasingRow("kcb", "688怎么买"),
    PhrasingRow("pwd", "交易密码忘了怎么办？"),
]


def test_phrasing_key_ignores_punctuation_width_script_and_aliases() -> None:
    assert phrasing_key("科創板權限怎麼開？") == phrasing_key("科创板权限怎么开") == phrasing_key(" 科创版权限怎么开!")


def test_load_feedback_reports_every_bad_line(tmp_path: Path) -> None:
    path = tmp_path / "feedback.jsonl"
    path.write_text(
        '{"query": "开科创要多少钱", "faq_id": "kcb"}\n'
        "{oops\n"
        '{"query": "", "faq_id": "kcb"}\n'
        '{"query": "x", "faq_id": "nope"}\n'
        '["x"]\n'
        '{"query": "x"}\n',
        encoding="utf-8",
    )
    with pytest.raises(QueriesError) as caught:
        load_feedback(path, {"kcb", "pwd"})
    assert [str(p) for p in caught.value.problems][2] == f"{path}:4: faq_id 'nope' is not in the index"
    assert [p.line for p in caught.value.problems] == [2, 3, 4, 5, 6]
    path.write_text('{"query": " 开科创要多少钱 ", "faq_id": "kcb"}\n', encoding="utf-8")
    assert load_feedback(path, {"kcb"}) == [Feedback("开科创要多少钱", "kcb", f"{path}:1")]
    path.write_text("\n", encoding="utf-8")
    with pytest.raises(QueriesError, match="no lines"):
        load_feedback(path, {"kcb"})


def test_merge_dedupes_skips_conflicts_and_keeps_rows_grouped() -> None:
    feedback = [
        Feedback("开科创要多少钱", "kcb", "f:1"),
        Feedback("开科创要多少钱？", "kcb", "f:2"),  # near-identical: duplicate
        Feedback("688怎么买!", "kcb", "f:3"),  # already a corpus phrasing
        Feedback("688怎么买", "pwd", "f:4"),  # another entry's phrasing: conflict
        Feedback("密码想不起来", "pwd", "f:5"),
    ]
    merged, report = merge_learned(ENTRIES, ROWS, feedback)
    assert [(r.entry_id, r.text, r.source) for r in merged] == [
        ("kcb", "科创板权限怎么开？", ""),
        ("kcb", "688怎么买", ""),
        ("kcb", "开科创要多少钱", "f:1"),
        ("pwd", "交易密码忘了怎么办？", ""),
        ("pwd", "密码想不起来", "f:5"),
    ]
    assert report.added == 2 and report.duplicates == 2 and len(report.conflicts) == 1
    assert "f:4" in report.conflicts[0] and "2 learned phrasings added" in report.summary()
    assert learned_summary(merged) == {"phrasings": 2, "files": {"f": 2}}
    assert learned_hash(ROWS) is None and learned_hash(merged) != learned_hash(merged[:3])
    assert json.dumps(merged[2].to_json(), ensure_ascii=False) == '["kcb", "开科创要多少钱", "f:1"]'
