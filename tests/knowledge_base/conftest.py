"""Shared fixtures: a small valid corpus and a fast deterministic encoder."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from knowledge_base.encoders import normalise_rows

SAMPLE_YAML = """\
- id: bg-kcb-threshold
  category: business_guide
  queue: service
  question: 科创板交易权限开通需要满足什么条件？
  similar:
    - 688开头的股票怎么才能买
    - 开科创板要多少资产
    - 科创版权限门槛是50万吗
  answer: 开通科创板权限需前20个交易日日均资产不低于50万元，参与证券交易满24个月。
  tags: [科创板, 688]
- id: bg-cyb-threshold
  category: business_guide
  queue: service
  question: 创业板交易权限怎么开通？
  similar:
    - 300开头的股票怎么买
    - 开创业板要什么条件
    - 创业版权限门槛是多少
  answer: 开通创业板权限需前20个交易日日均资产不低于10万元，参与证券交易满24个月。
- id: cs-reset-password
  category: customer_service
  queue: service
  question: 交易密码忘记了怎么办？
  similar:
    - 忘了交易密码咋整
    - 密码想不起来了怎么重置
    - 交易密码怎么找回
  answer: 可在App登录页点击“忘记密码”，通过身份验证和人脸识别后重置交易密码。
- id: fw-what-is-etf
  category: finance_wiki
  queue: advisor
  question: 什么是ETF？
  similar:
    - etf是什么意思
    - 交易型开放式指数基金是啥
    - ETF基金怎么理解
  answer: ETF即交易型开放式指数基金，在交易所上市交易，跟踪特定指数。
- id: wm-margin-open
  category: wealth_management
  queue: advisor
  question: 融资融券账户怎么开？
  similar:
    - 两融怎么开通
    - 开融资融券要什么条件
    - 信用账户如何开立
  answer: 开通融资融券需前20个交易日日均资产不低于50万元，并通过风险测评和知识测试。
  valid_from: 2020-01-01
  valid_to: 2099-12-31
"""


class CharEncoder:
    """Deterministic bag-of-characters encoder: fast, and texts sharing characters score higher."""

    def __init__(self, dim: int = 64, name: str = "test-chars") -> None:
        self._dim = dim
        self._name = name

    @property
    def name(self) -> str:
        return self._name

    @property
    def dim(self) -> int:
        return self._dim

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        matrix = np.zeros((len(texts), self._dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for char in text:
                bucket = int(hashlib.md5(char.encode()).hexdigest(), 16) % self._dim
                matrix[row, bucket] += 1.0
            matrix[row, 0] += 0.01
        return normalise_rows(matrix)


@pytest.fixture
def char_encoder() -> CharEncoder:
    return CharEncoder()


@pytest.fixture
def sample_corpus(tmp_path: Path) -> Path:
    """A directory holding the sample corpus as one YAML file."""
    directory = tmp_path / "faq"
    directory.mkdir()
    (directory / "sample.yml").write_text(SAMPLE_YAML, encoding="utf-8")
    return directory


@pytest.fixture
def off_topic(tmp_path: Path) -> Path:
    path = tmp_path / "off_topic.txt"
    path.write_text("# negatives\n今天天气怎么样\n给我讲个笑话\n附近有什么好吃的\n周末去哪玩\n", encoding="utf-8")
    return path
