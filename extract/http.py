"""HTTP for one source: a pooled session, the rate budget, retries.

The retry loop is ours, not urllib3's `Retry`, because it must also retry a
200 whose JSON body is truncated (urllib3 never parses bodies), share a
`Retry-After` with the source's other requests, and count 429s and retries for
`meta.extract_runs`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import requests
from requests.adapters import HTTPAdapter

from extract.config import AuthConfig, RetryPolicy
from extract.errors import AuthError, ClientError, RetriesExhausted
from extract.ratelimit import RateBudget
from segmart.core.settings import SourceSettings, api_key_variable, connection_id

RETRYABLE_EXCEPTIONS = (
    requests.ConnectionError,
    requests.Timeout,
    requests.exceptions.ChunkedEncodingError,
    requests.exceptions.ContentDecodingError,
)
SECRET_WORDS = ("key", "token", "secret", "password", "auth")


@dataclass
class RequestStats:
    requests: int = 0
    rate_limited: int = 0
    retries: int = 0


@dataclass
class Response:
    body: Any
    headers: requests.structures.CaseInsensitiveDict
    url: str


class SourceClient:
    def __init__(
        self,
        source: SourceSettings,
        auth: AuthConfig,
        budget: RateBudget,
        policy: RetryPolicy | None = None,
    ) -> None:
        self.source = source.name
        self.budget = budget
        self.policy = policy or RetryPolicy()
        self.stats = RequestStats()
        self.session = requests.Session()
        adapter = HTTPAdapter(pool_connections=4, pool_maxsize=8, max_retries=0)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self.session.headers.update(auth.headers(source.require_api_key()))
        self.session.headers["Accept"] = "application/json"

    def close(self) -> None:
        self.session.close()

    def get_json(self, url: str, params: dict[str, str] | None = None) -> Response:
        policy = self.policy
        for attempt in range(1, policy.max_attempts + 1):
            self.budget.acquire()
            self.stats.requests += 1
            wait = 0.0
            try:
                answer = self.session.get(
                    url, params=params, timeout=(policy.connect_timeout, policy.read_timeout)
                )
                shown = redact_url(answer.url)
                if answer.status_code == 200:
                    self.budget.observe(answer.headers)
                    try:
                        return Response(answer.json(), answer.headers, answer.url)
                    except ValueError as error:
                        problem = f"truncated or invalid JSON from {shown}: {error}"
                elif answer.status_code == 401:
                    raise AuthError(
                        f"source {self.source!r}: the API rejected the key (401 from {shown}). "
                        f"Set {api_key_variable(self.source)} to a valid key "
                        f"(or the password of Airflow connection '{connection_id(self.source)}')."
                    )
                elif answer.status_code == 429:
                    self.stats.rate_limited += 1
                    wait = retry_after_seconds(answer.headers)
                    self.budget.pause_for(wait)
                    problem = f"429 Too Many Requests from {shown}"
                elif answer.status_code >= 500:
                    problem = f"{answer.status_code} from {shown}"
                else:
                    raise ClientError(
                        f"source {self.source!r}: {answer.status_code} from {shown}: "
                        f"{excerpt(answer.text)}"
                    )
            except RETRYABLE_EXCEPTIONS as error:
                problem = f"{type(error).__name__} for {redact_url(url)}: {error}"
            if attempt == policy.max_attempts:
                raise RetriesExhausted(
                    f"source {self.source!r}: gave up after {attempt} attempts; last: {problem}. "
                    "Nothing of this slice was committed; rerun the same window."
                )
            self.stats.retries += 1
            time.sleep(max(wait, policy.backoff(attempt)))
        raise AssertionError("unreachable")


def retry_after_seconds(headers: Any) -> float:
    value = headers.get("Retry-After")
    try:
        return max(0.0, float(value)) if value is not None else 1.0
    except ValueError:
        return 1.0  # an HTTP date: rare for APIs; one second is a safe guess


def redact_url(url: str) -> str:
    """The URL as it may appear in a message: query values named like secrets are hidden."""
    parts = urlsplit(url)
    query = [
        (k, "***" if any(w in k.lower() for w in SECRET_WORDS) else v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
    ]
    return urlunsplit(parts._replace(query=urlencode(query), netloc=parts.netloc.split("@")[-1]))


def excerpt(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit] + "…"
