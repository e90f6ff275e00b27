"""What every input must be before it reaches the flow or routing: valid Unicode, in range, no unknown fields.

JSON may carry a lone surrogate (`"\\ud800"`), which Python decodes into a `str` that no UTF-8 encoder,
database driver or outbound channel accepts. `CleanText` refuses it at the edge with a 422.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict

MAX_SEQ = 2**31 - 1
"""The largest message seq the record can hold (a 32-bit column): larger `after`/`last_seq` values are refused."""
LONE_SURROGATE = "must be valid Unicode text (it contains a lone surrogate code point)"


def refuse_lone_surrogates(value: str) -> str:
    """The value unchanged, or ValueError if it cannot be encoded as UTF-8."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError(LONE_SURROGATE) from None
    return value


def is_valid_unicode(decoded: Any) -> bool:
    """Whether a decoded JSON value holds no lone surrogate in any string, key or value."""
    try:
        json.dumps(decoded, ensure_ascii=False).encode("utf-8")
    except (UnicodeEncodeError, ValueError, TypeError):
        return False
    return True


CleanText = Annotated[str, AfterValidator(refuse_lone_surrogates)]
"""A request string of valid Unicode (use it for every free-text field of a request body)."""


class RequestBody(BaseModel):
    """Base of request bodies: unknown fields are refused, so a typo is a 422 and not silently ignored."""

    model_config = ConfigDict(extra="forbid")
