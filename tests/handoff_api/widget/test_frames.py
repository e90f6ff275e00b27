"""The widget's client frames, parsed into typed values."""

from __future__ import annotations

import json

import pytest

from handoff_api.widget.frames import (
    AskHuman,
    BadFrame,
    ClientTyping,
    GiveFeedback,
    GiveRating,
    LoadOlder,
    Ping,
    Resume,
    SendText,
    parse_frame,
)

BAD_SEQ = "last_seq must be an integer from 0 to 2147483647"
BAD_RATING = "resolved must be true or false"
BAD_SCORE = "score must be a whole number from 1 to 5"
BAD_BEFORE = "before must be an integer from 1 to 2147483647"


@pytest.mark.parametrize(
    ("frame", "parsed"),
    [
        ({"type": "ping"}, Ping()),
        ({"type": "typing"}, ClientTyping()),
        ({"type": "ask_human"}, AskHuman()),
        ({"type": "resume"}, Resume(0)),
        ({"type": "resume", "last_seq": 7}, Resume(7)),
        ({"type": "older", "before": 61}, LoadOlder(61)),
        ({"type": "feedback", "resolved": False}, GiveFeedback(False)),
        ({"type": "rate", "score": 1}, GiveRating(1)),
        ({"type": "rate", "score": 5}, GiveRating(5)),
        ({"type": "message", "text": "你好", "client_msg_id": "m-1"}, SendText("你好", "m-1")),
        ({"type": "message", "text": "你好", "client_msg_id": "x" * 65}, SendText("你好", None)),
        ({"type": "message", "text": "你好", "client_msg_id": 5}, SendText("你好", None)),
    ],
)
def test_well_formed_frames(frame: dict[str, object], parsed: object) -> None:
    assert parse_frame(json.dumps(frame)) == parsed


@pytest.mark.parametrize(
    ("text", "bad"),
    [
        ("{not json", BadFrame("bad_json")),
        ('["type", "message"]', BadFrame("bad_envelope")),
        ('{"type": 3}', BadFrame("bad_envelope")),
        ('{"type": "launch_rockets"}', BadFrame("unknown_type", {"received": "launch_rockets"})),
        (
            '{"type": "resume", "last_seq": -1}',
            BadFrame("bad_envelope", {"detail": BAD_SEQ}),
        ),
        (
            '{"type": "resume", "last_seq": true}',
            BadFrame("bad_envelope", {"detail": BAD_SEQ}),
        ),
        ('{"type": "resume", "last_seq": 2147483648}', BadFrame("bad_envelope", {"detail": BAD_SEQ})),
        *(
            (f'{{"type": "older"{field}}}', BadFrame("bad_envelope", {"detail": BAD_BEFORE}))
            for field in ("", ', "before": 0', ', "before": "5"', ', "before": 2147483648', ', "before": false')
        ),
        ('{"type": "message", "text": "\\ud800"}', BadFrame("bad_json")),
        ('{"type": "message", "text": "ok", "\\udfff": 1}', BadFrame("bad_json")),
        (
            '{"type": "feedback", "resolved": "yes"}',
            BadFrame("bad_envelope", {"detail": "resolved must be true or false"}),
        ),
        *(
            (f'{{"type": "rate", "score": {score}}}', BadFrame("bad_envelope", {"detail": BAD_SCORE}))
            for score in ("0", "6", "4.5", '"5"', "true", "null")
        ),
        (
            '{"type": "message", "text": 1, "client_msg_id": "m-1"}',
            BadFrame("bad_envelope", {"client_msg_id": "m-1", "detail": "text must be a string"}),
        ),
    ],
)
def test_malformed_frames_name_their_error(text: str, bad: BadFrame) -> None:
    assert parse_frame(text) == bad


def test_an_unknown_type_is_echoed_at_most_40_characters() -> None:
    parsed = parse_frame(json.dumps({"type": "x" * 100}))
    assert isinstance(parsed, BadFrame) and parsed.extra == {"received": "x" * 40}
