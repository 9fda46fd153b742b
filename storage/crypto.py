"""Keys from ``CBT_ENCRYPTION_KEY`` and AES-256-GCM sealing of stored values.

A sealed value is ``b"cbt1:" + key_id + b":" + nonce (12 bytes) + ciphertext + tag (16)``.
The key id is authenticated (it is part of the associated data), so relabelling a value with
another key id fails. Anything not starting with ``cbt1:`` is a plaintext value written before
encryption was switched on; JSON text never starts with ``c``, so the two cannot be confused.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
from collections.abc import Iterable, Mapping

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

PREFIX = b"cbt1:"
DEFAULT_KEY_ID = "k1"
KEY_BYTES = 32
NONCE_BYTES = 12
TAG_BYTES = 16
# Binds every value to this application, this format version and the key id it names.
_CONTEXT = b"cbt-companion stored value v1\x00"
_KEY_ID = re.compile(r"[A-Za-z0-9_-]{1,32}")
_BASE64 = re.compile(r"[A-Za-z0-9_+/-]+={0,2}")
_ENV_NAME = "CBT_ENCRYPTION_KEY"


class EncryptionError(Exception):
    """A stored value could not be sealed or opened; the message never holds key or content."""


class KeyConfigError(EncryptionError):
    """The configured keys are unusable, or a value needs a key that is not configured."""


class DecryptionError(EncryptionError):
    """A sealed value is malformed or failed authentication (changed, or a different key)."""


class KeyRing:
    """The current key (seals new values) and older keys still accepted for opening."""

    __slots__ = ("_ciphers", "_current")

    def __init__(self, keys: Iterable[tuple[str, bytes]]) -> None:
        """Keys as ``(key_id, 32 raw bytes)``; the first is the current key."""
        ciphers: dict[str, AESGCM] = {}
        for key_id, key in keys:
            _check_key_id(key_id)
            if key_id in ciphers:
                raise KeyConfigError(f"key id {key_id!r} appears twice")
            if len(key) != KEY_BYTES:
                raise KeyConfigError(f"key {key_id!r} is {len(key)} bytes; it must be "
                                     f"{KEY_BYTES} bytes (256 bits)")
            ciphers[key_id] = AESGCM(key)
        if not ciphers:
            raise KeyConfigError("no encryption key given")
        self._ciphers: Mapping[str, AESGCM] = ciphers
        self._current = next(iter(ciphers))

    @classmethod
    def parse(cls, config: str) -> KeyRing:
        """Read ``id:key[,id:key...]`` (current key first) or one bare key (id ``k1``)."""
        entries = [entry.strip() for entry in config.split(",")]
        if entries == [""]:
            raise KeyConfigError(f"{_ENV_NAME} is empty; see docs/encryption.md to generate a key")
        if len(entries) == 1 and ":" not in entries[0]:
            return cls([(DEFAULT_KEY_ID, _decode_key(entries[0], DEFAULT_KEY_ID, 1))])
        keys: list[tuple[str, bytes]] = []
        for position, entry in enumerate(entries, start=1):
            if not entry:
                raise KeyConfigError(f"{_ENV_NAME} entry {position} is empty (stray comma?)")
            key_id, colon, encoded = entry.partition(":")
            key_id = key_id.strip()
            if not colon:
                raise KeyConfigError(f"{_ENV_NAME} entry {position} has no key id; write "
                                     "each entry as <key_id>:<base64url key>")
            if not _KEY_ID.fullmatch(key_id):
                raise KeyConfigError(f"{_ENV_NAME} entry {position} has an invalid key id; "
                                     "use 1-32 letters, digits, '-' or '_'")
            keys.append((key_id, _decode_key(encoded.strip(), key_id, position)))
        return cls(keys)

    @property
    def current_key_id(self) -> str:
        return self._current

    @property
    def key_ids(self) -> tuple[str, ...]:
        """Every configured key id, the current one first."""
        return tuple(self._ciphers)

    def encrypt(self, plaintext: bytes) -> bytes:
        """Seal with the current key and a fresh random nonce."""
        key_id = self._current.encode("ascii")
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._ciphers[self._current].encrypt(nonce, plaintext, _CONTEXT + key_id)
        return PREFIX + key_id + b":" + nonce + sealed

    def decrypt(self, value: bytes) -> bytes:
        """Open a sealed value with whichever configured key it names."""
        key_id, nonce, sealed = _split(value)
        cipher = self._ciphers.get(key_id)
        if cipher is None:
            raise missing_key_error(key_id)
        try:
            return cipher.decrypt(nonce, sealed, _CONTEXT + key_id.encode("ascii"))
        except InvalidTag:
            raise DecryptionError(
                f"stored value failed authentication under key {key_id!r}: it was changed "
                "after it was written, or that key id now holds different key material"
            ) from None

    def open(self, value: bytes) -> bytes:
        """The plaintext of a stored value: opened if sealed, as it is if legacy plaintext."""
        return self.decrypt(value) if is_sealed(value) else value

    def __repr__(self) -> str:
        return f"KeyRing(current={self._current!r}, keys={list(self._ciphers)!r})"


def is_sealed(value: bytes) -> bool:
    """Whether a stored value is in the sealed format (else it is legacy plaintext)."""
    return value.startswith(PREFIX)


def sealed_key_id(value: bytes) -> str | None:
    """The key id a stored value was sealed with; None for legacy plaintext."""
    return _split(value)[0] if is_sealed(value) else None


def open_stored(value: bytes, ring: KeyRing | None) -> bytes:
    """The plaintext of a stored value; a sealed value needs a ring holding its key."""
    if ring is not None:
        return ring.open(value)
    key_id = sealed_key_id(value)
    if key_id is not None:
        raise missing_key_error(key_id)
    return value


def missing_key_error(key_id: str) -> KeyConfigError:
    return KeyConfigError(f"value encrypted with key {key_id!r}, which is not configured")


def generate_key_entry(key_id: str = DEFAULT_KEY_ID) -> str:
    """A new random key as a ``CBT_ENCRYPTION_KEY`` entry: ``<key_id>:<base64url key>``."""
    _check_key_id(key_id)
    return f"{key_id}:{base64.urlsafe_b64encode(os.urandom(KEY_BYTES)).decode('ascii')}"


def _split(value: bytes) -> tuple[str, bytes, bytes]:
    key_id, colon, rest = value[len(PREFIX):].partition(b":")
    if not colon or not _KEY_ID.fullmatch(key_id.decode("ascii", "replace")):
        raise DecryptionError("stored value is malformed: no valid key id after 'cbt1:'")
    if len(rest) < NONCE_BYTES + TAG_BYTES:
        raise DecryptionError("stored value is malformed: too short (truncated?)")
    return key_id.decode("ascii"), rest[:NONCE_BYTES], rest[NONCE_BYTES:]


def _check_key_id(key_id: str) -> None:
    if not _KEY_ID.fullmatch(key_id):
        raise KeyConfigError(f"invalid key id {key_id!r}; use 1-32 letters, digits, '-' or '_'")


def _decode_key(encoded: str, key_id: str, position: int) -> bytes:
    # The messages name the entry and key id only: key material must never reach a log.
    where = f"{_ENV_NAME} entry {position} (key {key_id!r})"
    if not _BASE64.fullmatch(encoded):
        raise KeyConfigError(f"{where} is not base64url text")
    standard = encoded.rstrip("=").replace("-", "+").replace("_", "/")
    try:
        key = base64.b64decode(standard + "=" * (-len(standard) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise KeyConfigError(f"{where} is not valid base64url") from None
    if len(key) != KEY_BYTES:
        raise KeyConfigError(f"{where} decodes to {len(key)} bytes; it must be {KEY_BYTES} "
                             "bytes (256 bits)")
    return key
