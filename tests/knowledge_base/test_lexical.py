from __future__ import annotations

import pytest

from knowledge_base.lexical import LexicalScorer, char_bigrams


def test_bigrams_ignore_punctuation() -> None:
    assert char_bigrams("开户？") == frozenset({"开户"})
    assert char_bigrams("a") == frozenset({"a"})
    assert char_bigrams("！？") == frozenset()


def test_scores_prefer_shared_rare_bigrams() -> None:
    scorer = LexicalScorer(["科创板怎么开通", "创业板怎么开通", "密码忘了怎么办"])
    scores = scorer.score("科创板权限怎么开", [0, 1, 2])
    assert scores[0] > scores[1] > scores[2]
    assert scorer.score("科创板怎么开通", [0])[0] == pytest.approx(1.0)
    assert scorer.score("", [0]) == [0.0]


def test_best_per_group_matches_the_row_scores() -> None:
    scorer = LexicalScorer(["科创板怎么开通", "创业板怎么开通", "密码忘了怎么办"])
    rows = scorer.score("科创板权限怎么开", [0, 1, 2])
    assert scorer.best_per_group("科创板权限怎么开", [[0, 2], [1], []]) == [max(rows[0], rows[2]), rows[1], 0.0]
