"""Verifying who sent a push: webhook signatures and tracking write keys, in constant time.

Shopify signs the raw body: base64(HMAC-SHA256(secret, body)) in X-Shopify-Hmac-Sha256.
Standard Webhooks (https://www.standardwebhooks.com) signs `<id>.<timestamp>.<body>` with
the base64-decoded `whsec_` secret and sends `v1,<base64>` signatures (space-separated, to
allow key rotation) with the timestamp, so a replay outside the tolerance is refused.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import time
from collections.abc import Mapping
from dataclasses import dataclass

SHOPIFY_HEADER = "x-shopify-hmac-sha256"
STANDARD_ID = "webhook-id"
STANDARD_TIMESTAMP = "webhook-timestamp"
STANDARD_SIGNATURE = "webhook-signature"
STANDARD_PREFIX = "whsec_"


class SignatureError(Exception):
    """The push is not from the holder of the secret (or is stale); the message says which."""

    def __init__(self, message: str, reason: str = "signature") -> None:
        super().__init__(message)
        self.reason = reason


def _digest(key: bytes, content: bytes) -> bytes:
    return hmac.new(key, content, hashlib.sha256).digest()


def shopify_signature(secret: str, body: bytes) -> str:
    return base64.b64encode(_digest(secret.encode(), body)).decode()


def verify_shopify(secret: str, body: bytes, signature: str | None) -> None:
    if not signature:
        raise SignatureError(f"missing signature header {SHOPIFY_HEADER}")
    if not hmac.compare_digest(shopify_signature(secret, body).encode(), signature.encode()):
        raise SignatureError(f"{SHOPIFY_HEADER} does not match the body (wrong secret?)")


def standard_key(secret: str) -> bytes:
    encoded = secret.removeprefix(STANDARD_PREFIX)
    try:
        return base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        # A secret that is not base64 is used as it is (senders that sign with raw bytes).
        return encoded.encode()


def standard_signature(secret: str, delivery_id: str, timestamp: int, body: bytes) -> str:
    content = f"{delivery_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(_digest(standard_key(secret), content)).decode()


@dataclass(frozen=True)
class StandardDelivery:
    delivery_id: str
    timestamp: int


def verify_standard(
    secret: str,
    headers: Mapping[str, str],
    body: bytes,
    tolerance_seconds: float,
    now: float | None = None,
) -> StandardDelivery:
    delivery_id = headers.get(STANDARD_ID)
    stamp = headers.get(STANDARD_TIMESTAMP)
    signatures = headers.get(STANDARD_SIGNATURE)
    for header, value in ((STANDARD_ID, delivery_id), (STANDARD_TIMESTAMP, stamp)):
        if not value:
            raise SignatureError(f"missing header {header} (Standard Webhooks)")
    assert delivery_id is not None and stamp is not None
    try:
        timestamp = int(stamp)
    except ValueError:
        raise SignatureError(
            f"{STANDARD_TIMESTAMP} must be whole seconds since 1970, not {stamp[:40]!r}"
        ) from None
    now = time.time() if now is None else now
    if abs(now - timestamp) > tolerance_seconds:
        raise SignatureError(
            f"{STANDARD_TIMESTAMP} {timestamp} is {abs(now - timestamp):.0f} s from now, outside "
            f"the tolerance of {tolerance_seconds:.0f} s: a replay, or the sender's clock is off",
            reason="stale",
        )
    expected = standard_signature(secret, delivery_id, timestamp, body).encode()
    matched = False
    for candidate in (signatures or "").split():
        # Check every candidate, so the time taken says nothing about which one matched.
        matched |= hmac.compare_digest(expected, candidate.encode())
    if not matched:
        raise SignatureError(f"{STANDARD_SIGNATURE} does not match the body (wrong secret?)")
    return StandardDelivery(delivery_id, timestamp)


def basic_auth_user(header: str | None) -> str | None:
    """The user name of `Authorization: Basic base64(user:password)`; None if not Basic."""
    if not header or header[:6].lower() != "basic ":
        return None
    try:
        decoded = base64.b64decode(header[6:].strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    return decoded.split(":", 1)[0]


def matching_key(given: str | None, keys: Mapping[str, str]) -> str | None:
    """The name whose key equals `given`; every key is compared, each in constant time."""
    found = None
    for name, key in keys.items():
        if given is not None and hmac.compare_digest(given.encode(), key.encode()):
            found = name
    return found
