"""WeCom crypto against the published vectors, an inline reference implementation, and every refusal."""

from __future__ import annotations

import base64
import hashlib
import struct

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from handoff_api.wecom.crypto import (
    InvalidBase64Error,
    InvalidEncodingAESKeyError,
    InvalidLengthError,
    InvalidPaddingError,
    InvalidSignatureError,
    ReceiveIdMismatchError,
    StaleTimestampError,
    WeComCrypto,
    WeComCryptoError,
    compute_signature,
)
from handoff_api.wecom.parser import parse_envelope

# WeCom's published example (加解密方案说明 and the official sample libraries).
CORP_ID = "wx5823bf96d3bd56c7"
TOKEN = "QDG6eK"
AES_KEY = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
GET_SIGNATURE = "5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3"
GET_TIMESTAMP = "1409659589"
GET_NONCE = "263014780"
GET_ECHOSTR = "P9nAzCzyDtyTWESHep1vC5X9xho/qYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp+4RPcs8TgAE7OaBO+FZXvnaqQ=="
GET_PLAIN = "1616140317555161061"
POST_SIGNATURE = "477715d11cdb4164915debcba66cb864d751f3e6"
POST_TIMESTAMP = "1409659813"
POST_NONCE = "1372623149"
POST_ENCRYPT = (
    "RypEvHKD8QQKFhvQ6QleEB4J58tiPdvo+rtK1I9qca6aM/wvqnLSV5zEPeusUiX5L5X/0lWfrf0QADHHhGd3QczcdCUpj911L3vg3W/sYYvu"
    "JTs3TUUkSUXxaccAS0qhxchrRYt66wiSpGLYL42aM6A8dTT+6k4aSknmPj48kzJs8qLjvd4Xgpue06DOdnLxAUHzM6+kDZ+HMZfJYuR+LtwG"
    "c2hgf5gsijff0ekUNXZiqATP7PF5mZxZ3Izoun1s4zG4LUMnvw2r+KqCKIw+3IQH03v+BCA9nMELNqbSf6tiWSrXJB3LAVGUcallcrw8V2t9"
    "EL4EhzJWrQUax5wLVMNS0+rUPA3k22Ncx4XXZS9o0MBH27Bo6BpNelZpS+/uh9KsNlY6bHCmJU9p8g7m3fVKn28H3KDYA5Pl/T8Z1ptDAVe0"
    "lXdQ2YoyyH2uyPIGHBZZIs2pDBS8R07+qN+E7Q=="
)
POST_PLAIN = (
    "<xml><ToUserName><![CDATA[wx5823bf96d3bd56c7]]></ToUserName>\n"
    "<FromUserName><![CDATA[mycreate]]></FromUserName>\n"
    "<CreateTime>1409659813</CreateTime>\n"
    "<MsgType><![CDATA[text]]></MsgType>\n"
    "<Content><![CDATA[hello]]></Content>\n"
    "<MsgId>4561255354251345929</MsgId>\n"
    "<AgentID>218</AgentID>\n"
    "</xml>"
)
FIXED_PREFIX = bytes(range(16))


def official(**kwargs) -> WeComCrypto:
    return WeComCrypto(TOKEN, AES_KEY, CORP_ID, **kwargs)


def reference_encrypt(message: str, prefix: bytes = FIXED_PREFIX, receive_id: str = CORP_ID) -> str:
    """The published algorithm, step by step, independent of the module under test."""
    key = base64.b64decode(AES_KEY + "=")
    body = message.encode()
    plain = prefix + struct.pack(">I", len(body)) + body + receive_id.encode()
    pad = 32 - len(plain) % 32
    plain += bytes([pad]) * pad
    encryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    return base64.b64encode(encryptor.update(plain) + encryptor.finalize()).decode()


def raw_encrypt(plain: bytes) -> str:
    """AES-CBC of exactly these bytes (no padding added): for crafting broken plaintexts."""
    key = base64.b64decode(AES_KEY + "=")
    encryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    return base64.b64encode(encryptor.update(plain) + encryptor.finalize()).decode()


def test_signature_matches_the_published_examples():
    assert compute_signature(TOKEN, GET_TIMESTAMP, GET_NONCE, GET_ECHOSTR) == GET_SIGNATURE
    assert compute_signature(TOKEN, POST_TIMESTAMP, POST_NONCE, POST_ENCRYPT) == POST_SIGNATURE
    joined = "".join(sorted([TOKEN, POST_TIMESTAMP, POST_NONCE, POST_ENCRYPT]))
    assert hashlib.sha1(joined.encode()).hexdigest() == POST_SIGNATURE


def test_verify_url_returns_the_published_echo_plaintext():
    assert official().verify_url(GET_SIGNATURE, GET_TIMESTAMP, GET_NONCE, GET_ECHOSTR) == GET_PLAIN


def test_decrypt_message_returns_the_published_inner_xml():
    crypto = official()
    assert crypto.decrypt_message(POST_SIGNATURE, POST_TIMESTAMP, POST_NONCE, POST_ENCRYPT) == POST_PLAIN


def test_encrypt_matches_the_reference_steps_with_a_fixed_prefix():
    crypto = official(random_bytes=lambda n: FIXED_PREFIX[:n])
    for message in ("", "hello", "你好，请问科创板开户条件？", "x" * 26, "y" * 58, "z" * 3000):
        ciphertext, signature = crypto.encrypt(message, nonce="n1", timestamp="1700000000")
        assert ciphertext == reference_encrypt(message)
        assert signature == hashlib.sha1("".join(sorted([TOKEN, "1700000000", "n1", ciphertext])).encode()).hexdigest()
        assert len(base64.b64decode(ciphertext)) % 32 == 0
        assert crypto.decrypt(ciphertext) == message


def test_a_block_aligned_plaintext_gets_a_whole_32_byte_pad_block():
    crypto = official(random_bytes=lambda n: FIXED_PREFIX[:n])
    aligned = "x" * (64 - 16 - 4 - len(CORP_ID))
    ciphertext, _ = crypto.encrypt(aligned, "n", "1")
    assert len(base64.b64decode(ciphertext)) == 64 + 32


def test_round_trip_uses_fresh_random_prefixes():
    crypto = official()
    first, _ = crypto.encrypt("同一句话", "n", "1")
    second, _ = crypto.encrypt("同一句话", "n", "1")
    assert first != second
    assert crypto.decrypt(first) == crypto.decrypt(second) == "同一句话"


def test_encrypted_reply_xml_is_a_verifiable_envelope():
    crypto = official()
    reply = crypto.encrypted_reply_xml("<xml><Content>好的</Content></xml>", nonce="abc", timestamp="1700000001")
    envelope = parse_envelope(reply)
    assert "<MsgSignature><![CDATA[" in reply and "<TimeStamp>1700000001</TimeStamp>" in reply
    signature = reply.split("<MsgSignature><![CDATA[")[1].split("]]>")[0]
    assert crypto.decrypt_message(signature, "1700000001", "abc", envelope.encrypt) == (
        "<xml><Content>好的</Content></xml>"
    )


@pytest.mark.parametrize(
    "signature",
    ["0" * 40, GET_SIGNATURE[:-1] + "0", "", GET_SIGNATURE + "00", "签名"],
)
def test_wrong_signatures_are_refused(signature):
    with pytest.raises(InvalidSignatureError):
        official().verify_url(signature, GET_TIMESTAMP, GET_NONCE, GET_ECHOSTR)


def test_signature_covers_timestamp_nonce_and_ciphertext():
    crypto = official()
    with pytest.raises(InvalidSignatureError):
        crypto.decrypt_message(POST_SIGNATURE, str(int(POST_TIMESTAMP) + 1), POST_NONCE, POST_ENCRYPT)
    with pytest.raises(InvalidSignatureError):
        crypto.decrypt_message(POST_SIGNATURE, POST_TIMESTAMP, POST_NONCE + "1", POST_ENCRYPT)


def test_signature_is_checked_before_decryption(monkeypatch):
    crypto = official()
    calls: list[str] = []

    def spy(value: str) -> str:
        calls.append(value)
        return ""

    monkeypatch.setattr(crypto, "decrypt", spy)
    with pytest.raises(InvalidSignatureError):
        crypto.decrypt_message("0" * 40, POST_TIMESTAMP, POST_NONCE, POST_ENCRYPT)
    assert calls == []


def test_tampered_ciphertext_is_refused():
    raw = bytearray(base64.b64decode(POST_ENCRYPT))
    raw[-1] ^= 0x01  # corrupts the last block: padding or receive id no longer check out
    with pytest.raises((InvalidPaddingError, ReceiveIdMismatchError, InvalidLengthError)):
        official().decrypt(base64.b64encode(bytes(raw)).decode())


def test_a_flipped_bit_in_the_length_field_is_refused():
    raw = bytearray(base64.b64decode(POST_ENCRYPT))
    raw[1] ^= 0x01  # CBC: flips bit 0 of the length's high-order byte in the next plaintext block
    with pytest.raises(InvalidLengthError):
        official().decrypt(base64.b64encode(bytes(raw)).decode())


def test_truncated_ciphertext_is_refused():
    raw = base64.b64decode(POST_ENCRYPT)
    with pytest.raises(InvalidPaddingError):
        official().decrypt(base64.b64encode(raw[:-5]).decode())  # not whole AES blocks
    with pytest.raises(WeComCryptoError):
        official().decrypt(base64.b64encode(raw[:-32]).decode())  # whole blocks, wrong tail


@pytest.mark.parametrize("pad", [0, 33, 200])
def test_pad_length_outside_1_to_32_is_refused(pad):
    plain = FIXED_PREFIX + struct.pack(">I", 5) + b"hello" + CORP_ID.encode()
    plain += b"\x00" * (64 - len(plain) - 1) + bytes([pad])
    with pytest.raises(InvalidPaddingError):
        official().decrypt(raw_encrypt(plain))


def test_inconsistent_pad_bytes_are_refused():
    plain = FIXED_PREFIX + struct.pack(">I", 5) + b"hello" + CORP_ID.encode()
    pad = 64 - len(plain)
    plain += bytes([pad]) * (pad - 1) + bytes([pad])
    assert official().decrypt(raw_encrypt(plain)) == "hello"
    broken = bytearray(plain)
    broken[-2] ^= 0xFF
    with pytest.raises(InvalidPaddingError):
        official().decrypt(raw_encrypt(bytes(broken)))


def test_a_length_that_does_not_fit_is_refused():
    body = FIXED_PREFIX + struct.pack(">I", 10_000) + b"hello" + CORP_ID.encode()
    pad = 32 - len(body) % 32
    with pytest.raises(InvalidLengthError):
        official().decrypt(raw_encrypt(body + bytes([pad]) * pad))


def test_a_plaintext_shorter_than_its_header_is_refused():
    with pytest.raises(InvalidLengthError):
        official().decrypt(raw_encrypt(b"short" + bytes([27]) * 27))


def test_a_message_for_another_receive_id_is_refused():
    other = WeComCrypto(TOKEN, AES_KEY, "ww0000000000000000")
    with pytest.raises(ReceiveIdMismatchError):
        other.decrypt_message(POST_SIGNATURE, POST_TIMESTAMP, POST_NONCE, POST_ENCRYPT)
    with pytest.raises(ReceiveIdMismatchError):
        official().decrypt(reference_encrypt("hello", receive_id=CORP_ID + "x"))


@pytest.mark.parametrize("value", ["not base64!", "abc", "YWJj\n=="])
def test_bad_base64_is_refused(value):
    with pytest.raises(InvalidBase64Error):
        official().decrypt(value)


def test_empty_ciphertext_is_refused():
    with pytest.raises(WeComCryptoError):
        official().decrypt("")


def test_stale_timestamps_are_refused_beyond_the_skew():
    now = 1_700_000_000.0
    crypto = official(timestamp_skew_seconds=300, clock=lambda: now)
    ciphertext, signature = crypto.encrypt("hi", "n", str(int(now) - 299))
    assert crypto.decrypt_message(signature, str(int(now) - 299), "n", ciphertext) == "hi"
    for stale in (int(now) - 301, int(now) + 301):
        ciphertext, signature = crypto.encrypt("hi", "n", str(stale))
        with pytest.raises(StaleTimestampError):
            crypto.decrypt_message(signature, str(stale), "n", ciphertext)
    with pytest.raises(StaleTimestampError):
        official().verify_url(GET_SIGNATURE, "14096595x9", GET_NONCE, GET_ECHOSTR)
    with pytest.raises(StaleTimestampError):
        official(timestamp_skew_seconds=300, clock=lambda: now).verify_url(
            GET_SIGNATURE, GET_TIMESTAMP, GET_NONCE, GET_ECHOSTR
        )


@pytest.mark.parametrize("key", ["", AES_KEY[:-1], AES_KEY + "A", AES_KEY[:-1] + "!"])
def test_bad_encoding_aes_keys_are_refused_at_construction(key):
    with pytest.raises(InvalidEncodingAESKeyError):
        WeComCrypto(TOKEN, key, CORP_ID)


def test_every_refusal_shares_one_base_and_repr_hides_secrets():
    for error in (
        InvalidSignatureError,
        InvalidPaddingError,
        InvalidLengthError,
        ReceiveIdMismatchError,
        InvalidBase64Error,
        StaleTimestampError,
        InvalidEncodingAESKeyError,
    ):
        assert issubclass(error, WeComCryptoError)
    assert TOKEN not in repr(official()) and AES_KEY not in repr(official())
