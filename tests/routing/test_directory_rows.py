"""Reading directory files: the encodings a branch's spreadsheet may save in."""

from __future__ import annotations

import codecs

import pytest

from routing.directory_rows import DirectoryImportError, decode, read_rows

TEXT = "id,name,branch\nK1,陈晓明,上海浦东\nK2,林婉清,北京\n"


@pytest.mark.parametrize(
    "data",
    [
        TEXT.encode("utf-8"),
        codecs.BOM_UTF8 + TEXT.encode("utf-8"),  # Excel's "CSV UTF-8"
        TEXT.encode("gb18030"),  # Excel's plain "CSV" on Chinese Windows (GBK is a subset)
        TEXT.encode("gbk"),
    ],
    ids=["utf-8", "utf-8-bom", "gb18030", "gbk"],
)
def test_every_encoding_reads_the_same_rows(data: bytes) -> None:
    assert decode(data) == TEXT
    rows = read_rows(data, ("id", "name", "branch"), (), "clients file")
    assert [(row["id"], row["name"], row["branch"]) for row in rows] == [
        ("K1", "陈晓明", "上海浦东"),
        ("K2", "林婉清", "北京"),
    ]


def test_a_file_in_neither_encoding_names_its_line() -> None:
    with pytest.raises(DirectoryImportError) as error:
        decode(b"id,name\nK1,ok\nK2,\xff\xfe\n")
    assert [str(p) for p in error.value.problems] == [
        "row 3: neither UTF-8 nor GB18030 (byte 17); save the file as 'CSV UTF-8'"
    ]
