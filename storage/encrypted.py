"""A JSON column encrypted at rest, and the key ring it uses.

The column type finds its keys in one module-level holder that ``configure_encryption`` sets
once at start-up (the app, from ``CBT_ENCRYPTION_KEY``; tests, through a fixture). A ``KeyRing``
is immutable and replacing the holder is a single reference assignment, so threads and tasks
reading it need no lock: each value is processed with whichever ring was current at that moment.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import LargeBinary
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

from storage.crypto import KeyRing, open_stored

_ring: KeyRing | None = None


def configure_encryption(ring: KeyRing | None) -> None:
    """Set the keys every encrypted column uses; None stores new values as plain JSON."""
    global _ring
    _ring = ring


def current_key_ring() -> KeyRing | None:
    return _ring


class EncryptedJSON(TypeDecorator[Any]):
    """A JSON value sealed with the current key; reads sealed and legacy plaintext values.

    Encryption is randomised, so the column cannot be compared or searched in SQL. Python
    None is SQL NULL. As with ``JSON``, changes made inside a loaded dict are not detected:
    assign a new value.
    """

    impl = LargeBinary
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> bytes | None:
        if value is None:
            return None
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
        plaintext = text.encode("utf-8")
        ring = _ring
        return plaintext if ring is None else ring.encrypt(plaintext)

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        return json.loads(open_stored(as_bytes(value), _ring))


def as_bytes(value: bytes | bytearray | memoryview | str) -> bytes:
    """Stored bytes as the driver returns them; SQLite hands back a legacy TEXT value as str."""
    if isinstance(value, str):
        return value.encode("utf-8")
    return bytes(value)
