"""WeCom message crypto: the WXBizMsgCrypt algorithm (signature, AES-256-CBC, PKCS#7 to 32 bytes).

Plaintext layout: 16 random bytes + 4-byte big-endian message length + message + receive id.
The receive id is the corp id for a self-built application's callbacks.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import struct
import time
from collections.abc import Callable
from xml.sax.saxutils import escape

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from handoff_api.wecom.settings import ENCODING_AES_KEY_LENGTH

PAD_BLOCK_SIZE = 32
AES_BLOCK_SIZE = 16
RANDOM_PREFIX_SIZE = 16
LENGTH_FIELD_SIZE = 4
_HEADER_SIZE = RANDOM_PREFIX_SIZE + LENGTH_FIELD_SIZE


class WeComCryptoError(Exception):
    """Base of every refusal by the WeCom crypto."""


class InvalidEncodingAESKeyError(WeComCryptoError, ValueError):
    """The configured EncodingAESKey is not 43 base64 characters decoding to 32 bytes."""


class InvalidSignatureError(WeComCryptoError):
    """msg_signature does not match sha1(sorted(token, timestamp, nonce, ciphertext))."""


class InvalidBase64Error(WeComCryptoError):
    """The ciphertext is not valid base64."""


class InvalidPaddingError(WeComCryptoError):
    """The decrypted data does not end in valid PKCS#7 padding (1..32) or is not block aligned."""


class InvalidLengthError(WeComCryptoError):
    """The 4-byte message length does not fit in the decrypted plaintext."""


class InvalidPlaintextError(WeComCryptoError):
    """The decrypted message is not UTF-8."""


class ReceiveIdMismatchError(WeComCryptoError):
    """The receive id inside the plaintext is not the configured one."""


class StaleTimestampError(WeComCryptoError):
    """The request timestamp is not an integer or lies outside the allowed clock skew."""


def compute_signature(token: str, timestamp: str, nonce: str, ciphertext: str) -> str:
    """sha1 hex digest of the lexicographically sorted parts, concatenated."""
    joined = "".join(sorted([token, timestamp, nonce, ciphertext]))
    return hashlib.sha1(joined.encode("utf-8")).hexdigest()


def pkcs7_pad(data: bytes, block_size: int = PAD_BLOCK_SIZE) -> bytes:
    """Pad to a multiple of block_size; always adds 1..block_size bytes."""
    amount = block_size - len(data) % block_size
    return data + bytes([amount]) * amount


def pkcs7_unpad(data: bytes, block_size: int = PAD_BLOCK_SIZE) -> bytes:
    """Strip PKCS#7 padding, refusing a pad length outside 1..block_size or inconsistent pad bytes."""
    if not data:
        raise InvalidPaddingError("empty plaintext")
    amount = data[-1]
    if amount < 1 or amount > block_size or amount > len(data):
        raise InvalidPaddingError("pad length out of range")
    if not hmac.compare_digest(data[-amount:], bytes([amount]) * amount):
        raise InvalidPaddingError("inconsistent pad bytes")
    return data[:-amount]


def decode_encoding_aes_key(encoding_aes_key: str) -> bytes:
    """Turn the 43-character EncodingAESKey into the 32-byte AES key."""
    if len(encoding_aes_key) != ENCODING_AES_KEY_LENGTH:
        raise InvalidEncodingAESKeyError(f"EncodingAESKey must be {ENCODING_AES_KEY_LENGTH} characters long")
    try:
        key = base64.b64decode(encoding_aes_key + "=", validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidEncodingAESKeyError("EncodingAESKey is not base64") from exc
    if len(key) != 32:
        raise InvalidEncodingAESKeyError("EncodingAESKey does not decode to 32 bytes")
    return key


class WeComCrypto:
    """Sign, verify, encrypt and decrypt WeCom callback payloads for one application."""

    def __init__(
        self,
        token: str,
        encoding_aes_key: str,
        receive_id: str,
        *,
        timestamp_skew_seconds: int | None = None,
        clock: Callable[[], float] = time.time,
        random_bytes: Callable[[int], bytes] = os.urandom,
    ) -> None:
        if not token:
            raise ValueError("token must not be empty")
        if not receive_id:
            raise ValueError("receive_id must not be empty")
        self._token = token
        self._key = decode_encoding_aes_key(encoding_aes_key)
        self._iv = self._key[:AES_BLOCK_SIZE]
        self._receive_id = receive_id.encode("utf-8")
        self._skew = timestamp_skew_seconds
        self._clock = clock
        self._random_bytes = random_bytes

    def __repr__(self) -> str:
        return "WeComCrypto(<secrets hidden>)"

    def signature(self, timestamp: str, nonce: str, ciphertext: str) -> str:
        """The msg_signature WeCom would send for these values."""
        return compute_signature(self._token, timestamp, nonce, ciphertext)

    def verify_signature(self, msg_signature: str, timestamp: str, nonce: str, ciphertext: str) -> None:
        """Raise InvalidSignatureError unless msg_signature matches (constant-time comparison)."""
        expected = self.signature(timestamp, nonce, ciphertext)
        if not hmac.compare_digest(expected.encode("ascii"), msg_signature.lower().encode("utf-8")):
            raise InvalidSignatureError("msg_signature mismatch")

    def check_timestamp(self, timestamp: str) -> None:
        """Raise StaleTimestampError if the timestamp is malformed or outside the configured skew."""
        if not (timestamp.isascii() and timestamp.isdigit()):
            raise StaleTimestampError("timestamp is not an integer")
        value = int(timestamp)
        if self._skew is not None and abs(self._clock() - value) > self._skew:
            raise StaleTimestampError("timestamp outside the allowed clock skew")

    def decrypt(self, ciphertext_b64: str) -> str:
        """Decrypt a base64 ciphertext and return the message, checking length and receive id."""
        try:
            raw = base64.b64decode(ciphertext_b64, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise InvalidBase64Error("ciphertext is not valid base64") from exc
        if not raw or len(raw) % AES_BLOCK_SIZE:
            raise InvalidPaddingError("ciphertext is not a whole number of AES blocks")
        decryptor = Cipher(algorithms.AES(self._key), modes.CBC(self._iv)).decryptor()
        plain = pkcs7_unpad(decryptor.update(raw) + decryptor.finalize())
        if len(plain) < _HEADER_SIZE:
            raise InvalidLengthError("plaintext shorter than its header")
        (length,) = struct.unpack(">I", plain[RANDOM_PREFIX_SIZE:_HEADER_SIZE])
        if _HEADER_SIZE + length > len(plain):
            raise InvalidLengthError("message length exceeds the plaintext")
        message = plain[_HEADER_SIZE : _HEADER_SIZE + length]
        receive_id = plain[_HEADER_SIZE + length :]
        if not hmac.compare_digest(receive_id, self._receive_id):
            raise ReceiveIdMismatchError("receive id does not match the configured corp id")
        try:
            return message.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InvalidPlaintextError("message is not UTF-8") from exc

    def encrypt_only(self, plaintext: str) -> str:
        """Encrypt a message into base64 ciphertext (fresh random prefix)."""
        message = plaintext.encode("utf-8")
        prefix = self._random_bytes(RANDOM_PREFIX_SIZE)
        if len(prefix) != RANDOM_PREFIX_SIZE:
            raise ValueError("random prefix must be 16 bytes")
        plain = prefix + struct.pack(">I", len(message)) + message + self._receive_id
        encryptor = Cipher(algorithms.AES(self._key), modes.CBC(self._iv)).encryptor()
        raw = encryptor.update(pkcs7_pad(plain)) + encryptor.finalize()
        return base64.b64encode(raw).decode("ascii")

    def encrypt(self, plaintext: str, nonce: str, timestamp: str) -> tuple[str, str]:
        """Encrypt a message; return (base64 ciphertext, msg_signature)."""
        ciphertext = self.encrypt_only(plaintext)
        return ciphertext, self.signature(timestamp, nonce, ciphertext)

    def verify_url(self, msg_signature: str, timestamp: str, nonce: str, echostr: str) -> str:
        """Callback URL verification: check timestamp and signature, return the decrypted echostr."""
        self.check_timestamp(timestamp)
        self.verify_signature(msg_signature, timestamp, nonce, echostr)
        return self.decrypt(echostr)

    def decrypt_message(self, msg_signature: str, timestamp: str, nonce: str, encrypted_b64: str) -> str:
        """Check timestamp and signature of a callback's Encrypt field, return the inner XML."""
        self.check_timestamp(timestamp)
        self.verify_signature(msg_signature, timestamp, nonce, encrypted_b64)
        return self.decrypt(encrypted_b64)

    def encrypted_reply_xml(self, plaintext: str, nonce: str, timestamp: str) -> str:
        """The passive-reply envelope: <xml> with Encrypt, MsgSignature, TimeStamp and Nonce."""
        ciphertext, signature = self.encrypt(plaintext, nonce, timestamp)
        return build_reply_envelope(ciphertext, signature, timestamp, nonce)


def build_reply_envelope(ciphertext: str, signature: str, timestamp: str, nonce: str) -> str:
    """Render the encrypted reply XML (values are base64/hex/digits; nonce is escaped)."""
    return (
        "<xml>"
        f"<Encrypt><![CDATA[{ciphertext}]]></Encrypt>"
        f"<MsgSignature><![CDATA[{signature}]]></MsgSignature>"
        f"<TimeStamp>{escape(timestamp)}</TimeStamp>"
        f"<Nonce><![CDATA[{nonce.replace(']]>', '')}]]></Nonce>"
        "</xml>"
    )
