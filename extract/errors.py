"""Extraction errors: each names the source/stream and says what to do next."""

from __future__ import annotations

from segmart.core.contracts import SliceResult
from segmart.core.errors import UserError


class ConfigError(UserError, ValueError):
    """A source file is missing or malformed; the message names the file, the key and
    what is allowed."""


class WindowError(UserError, ValueError):
    """An explicit extraction window is empty or reversed; the message names both ends."""


class ExtractError(RuntimeError):
    """A slice could not be extracted; nothing of it was committed."""


class AuthError(ExtractError):
    """401: the API key is missing, wrong or revoked (never retried)."""


class ClientError(ExtractError):
    """Another 4xx: the request itself is wrong (never retried)."""


class RetriesExhausted(ExtractError):
    """429/5xx/connection errors/truncated bodies outlasted every retry."""


class RecordError(ExtractError):
    """A record the extractor cannot file (e.g. without its primary key)."""


class ExtractFailed(ExtractError):
    """`run_extract`: some streams failed; the others were loaded (see `.results`)."""

    def __init__(self, message: str, results: list[SliceResult]) -> None:
        super().__init__(message)
        self.results = results
