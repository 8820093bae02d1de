"""The deterministic demo world behind the four demo sources.

Nothing is stored: every record is derived from (seed, ids, time buckets), so a
world of a million customers starts instantly and a window query generates only
the days it overlaps. Each record has a fixed schedule of versions; the version
served is the latest one at or before `now`, so a window on the time field finds
a record once, at its latest change.

Internally times are whole epoch seconds (UTC); records carry ISO 8601 with `Z`.
"""

from __future__ import annotations

import math
import random
import threading
import time
from bisect import bisect_right
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from functools import lru_cache

import numpy as np

HISTORY_START = datetime(2024, 1, 1, tzinfo=UTC)
START = int(HISTORY_START.timestamp())
DAY = 86_400
HOUR = 3_600
NEVER = 1 << 62
SCENARIOS = ("clean", "bad-orders", "schema-drift", "empty")
# schema-drift: crm `phone` becomes `phone_number` for versions updated from this date on.
DRIFT_FROM = int(datetime(2025, 6, 1, tzinfo=UTC).timestamp())
# The source that serves nothing in the `empty` scenario.
EMPTY_SOURCE = "esp"

STREAMS: dict[str, tuple[str, ...]] = {
    "shop": ("customers", "orders", "products"),
    "crm": ("contacts",),
    "esp": ("email_events",),
    "web": ("events",),
}
TIME_FIELDS = {
    ("shop", "customers"): "updated_at",
    ("shop", "orders"): "updated_at",
    ("shop", "products"): "updated_at",
    ("crm", "contacts"): "updated_at",
    ("esp", "email_events"): "occurred_at",
    ("web", "events"): "occurred_at",
}

_MASK = (1 << 64) - 1
_FIRST = [
    "Anna",
    "Ben",
    "Clara",
    "David",
    "Emma",
    "Felix",
    "Grace",
    "Hugo",
    "Ida",
    "Jonas",
    "Kim",
    "Lena",
    "Max",
    "Nina",
    "Oskar",
    "Paula",
    "Quinn",
    "Rosa",
    "Sam",
    "Tara",
    "Uma",
    "Victor",
    "Wendy",
    "Xavier",
    "Yara",
    "Zoe",
    "Liam",
    "Mia",
    "Noah",
    "Olivia",
]
_LAST = [
    "Smith",
    "Muller",
    "Garcia",
    "Rossi",
    "Novak",
    "Jensen",
    "Dubois",
    "Silva",
    "Kowalski",
    "Berg",
    "Costa",
    "Weber",
    "Martin",
    "Fischer",
    "Moreau",
    "Larsen",
    "Romano",
    "Schmidt",
    "Brown",
    "Wilson",
    "Lopez",
    "Meyer",
    "Klein",
    "Wolf",
    "Nagy",
]
_DOMAINS = ("gmail.com",) * 5 + ("googlemail.com", "yahoo.com", "outlook.com", "icloud.com")
_DOMAINS += ("example.org", "mail.de", "proton.me")
_PLACES = (
    ("Berlin", "DE"),
    ("Hamburg", "DE"),
    ("Munich", "DE"),
    ("Paris", "FR"),
    ("Lyon", "FR"),
    ("Madrid", "ES"),
    ("Milan", "IT"),
    ("Vienna", "AT"),
    ("Amsterdam", "NL"),
    ("Copenhagen", "DK"),
    ("London", "GB"),
    ("New York", "US"),
)
_CATEGORIES = ("apparel", "shoes", "home", "beauty", "outdoor", "books", "toys", "kitchen")
_ADJECTIVES = [
    "Classic",
    "Urban",
    "Cosy",
    "Bold",
    "Light",
    "Everyday",
    "Premium",
    "Vintage",
    "Smart",
    "Soft",
]
_NOUNS = [
    "Jacket",
    "Sneaker",
    "Lamp",
    "Serum",
    "Tent",
    "Novel",
    "Puzzle",
    "Kettle",
    "Scarf",
    "Mug",
    "Backpack",
    "Candle",
]
_NO_EMAIL = (None, "", "n/a", "none", "not given", "unknown@", "@nodomain")
_TIERS = ("bronze", "silver", "gold", "platinum")

# Salts: each derived attribute draws from its own hash stream.
(
    S_CREATED,
    S_FIRST,
    S_LAST,
    S_DOMAIN,
    S_PLACE,
    S_CRM,
    S_CONSENT,
    S_NOEMAIL,
    S_ENGAGED,
    S_VARIANT,
    S_EDITS,
    S_SIGNUP,
    S_FLIP,
    S_UNSUB,
    S_ORDERS,
    S_ORDER,
    S_BAD,
    S_SESSIONS,
    S_SESSION,
    S_SEND,
    S_PRODUCT,
    S_PHONE,
    S_BIRTH,
) = range(101, 124)


def _mix(x: int) -> int:
    """splitmix64 finaliser: a fast, well-spread integer hash."""
    x = (x + 0x9E3779B97F4A7C15) & _MASK
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK
    return x ^ (x >> 31)


def _mix_np(x: np.ndarray) -> np.ndarray:
    """`_mix` over a uint64 array (wrapping arithmetic), bit for bit the same."""
    x = x + np.uint64(0x9E3779B97F4A7C15)
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def _chain(x: np.ndarray, part: np.ndarray | np.uint64) -> np.ndarray:
    return _mix_np(x ^ part)


def _mod(x: np.ndarray, n: int) -> np.ndarray:
    return (x % np.uint64(n)).astype(np.int64)


def _unit(x: np.ndarray) -> np.ndarray:
    return (x >> np.uint64(11)).astype(np.float64) / float(1 << 53)


def web_event_id(t: int, key: int) -> str:
    """`ev_<epoch>_<session>_<step>`: fixed widths, so ids sort like (occurred_at, id)."""
    return f"ev_{t:010d}_{key // 100:011d}_{key % 100:02d}"


def web_event_key(event_id: str) -> tuple[int, int]:
    """The (occurred_at, index key) an event id stands for; ValueError if it is not one."""
    prefix, t, session, step = event_id.split("_")
    if prefix != "ev" or not (t.isdigit() and session.isdigit() and step.isdigit()):
        raise ValueError(event_id)
    return int(t), int(session) * 100 + int(step)


def iso(t: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def to_epoch(value: datetime | str | int | float | None) -> int | None:
    """A datetime (naive = UTC), ISO string or epoch number as whole epoch seconds (ceiling)."""
    if value is None:
        return None
    if isinstance(value, int | float):
        return math.ceil(value)
    if isinstance(value, str):
        value = datetime.fromisoformat(value.strip().replace("z", "Z"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return math.ceil(value.timestamp())


def _cents(cents: int) -> str:
    sign = "-" if cents < 0 else ""
    cents = abs(cents)
    return f"{sign}{cents // 100}.{cents % 100:02d}"


class World:
    """A deterministic world of `customers` people seen through four sources.

    `records(source, stream, start, end)` yields exactly what the API serves for
    the window `[start, end)` on the stream's time field, as of `now` (frozen if
    given, else the real clock), ordered by time then id.
    """

    history_start = HISTORY_START

    def __init__(
        self,
        seed: int = 7,
        customers: int = 5000,
        scenario: str = "clean",
        now: datetime | str | None = None,
    ) -> None:
        if scenario not in SCENARIOS:
            raise ValueError(f"unknown scenario {scenario!r}: choose one of {', '.join(SCENARIOS)}")
        if not 1 <= customers <= 10_000_000:
            raise ValueError("customers must be between 1 and 10000000")
        self.seed = seed
        self.customers = customers
        self.scenario = scenario
        self.frozen_now = to_epoch(now)
        self._base = _mix(seed & _MASK)
        self._salted = {salt: _mix(self._base ^ salt) for salt in range(S_CREATED, S_BIRTH + 1)}
        n1 = max(1, customers // 2)
        self._n1, self._n2 = n1, customers - n1
        self._t1 = int(datetime(2025, 1, 1, tzinfo=UTC).timestamp())
        self._t2 = int(datetime(2030, 1, 1, tzinfo=UTC).timestamp())
        self._streams = {
            ("shop", "customers"): _Customers(self),
            ("shop", "orders"): _Orders(self),
            ("shop", "products"): _Products(self),
            ("crm", "contacts"): _Contacts(self),
            ("esp", "email_events"): _EmailEvents(self),
            ("web", "events"): _WebEvents(self),
        }
        self.persons_by = lru_cache(maxsize=4096)(self._persons_by)
        # Products are few and looked up for every line item.
        self.product_created_at = lru_cache(maxsize=None)(self.product_created_at)
        self.product_period = lru_cache(maxsize=None)(self.product_period)
        self.product_price = lru_cache(maxsize=1 << 16)(self.product_price)
        self._settled: dict[tuple[str, str, int], int] = {}

    # -- basics -------------------------------------------------------------
    def now(self) -> int:
        return self.frozen_now if self.frozen_now is not None else int(time.time())

    def h(self, *parts: int) -> int:
        """Hash of (seed, *parts); every part after the salt costs one mix."""
        x = self._salted[parts[0]]
        for part in parts[1:]:
            x = _mix(x ^ (part & _MASK))
        return x

    def h_np(self, *parts: int | np.ndarray) -> np.ndarray:
        x = np.full(1, self._base, dtype=np.uint64)
        for part in parts:
            value = np.uint64(part & _MASK) if isinstance(part, int) else part
            x = _mix_np(x ^ value)
        return x

    def u_np(self, *parts: int | np.ndarray) -> np.ndarray:
        return _unit(self.h_np(*parts))

    def created_at_np(self, i: np.ndarray) -> np.ndarray:
        """`created_at` over a uint64 array of ids (int64 arithmetic: fine to ~20M people)."""
        jitter = _mod(self.h_np(S_CREATED, i), 1000)
        ids = i.astype(np.int64)
        k = ids - self._n1
        early = START + ((ids - 1) * 1000 + jitter) * (self._t1 - START) // (self._n1 * 1000)
        late = self._t1 + ((k - 1) * 1000 + jitter) * (self._t2 - self._t1) // (
            max(1, self._n2) * 1000
        )
        return np.where(ids <= self._n1, early, late)

    def signup_at_np(self, i: np.ndarray) -> np.ndarray:
        return self.created_at_np(i) + _mod(self.h_np(S_SIGNUP, i), 2 * DAY)

    def u(self, *parts: int) -> float:
        return (self.h(*parts) >> 11) / float(1 << 53)

    def created_at(self, i: int) -> int:
        """Person i joins at a time increasing with i: half in 2024, the rest until 2030."""
        jitter = self.h(S_CREATED, i) % 1000
        if i <= self._n1:
            return START + ((i - 1) * 1000 + jitter) * (self._t1 - START) // (self._n1 * 1000)
        k = i - self._n1
        return self._t1 + ((k - 1) * 1000 + jitter) * (self._t2 - self._t1) // (self._n2 * 1000)

    def _persons_by(self, t: int) -> int:
        """How many people exist at time t (ids 1..n): created_at is monotone in id."""
        lo, hi = 0, self.customers
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if self.created_at(mid) <= t:
                lo = mid
            else:
                hi = mid - 1
        return lo

    def persons_created_on(self, d: int) -> range:
        day_start = START + d * DAY
        return range(self.persons_by(day_start - 1) + 1, self.persons_by(day_start + DAY - 1) + 1)

    def stream(self, source: str, stream: str) -> _Stream:
        try:
            return self._streams[(source, stream)]
        except KeyError:
            known = ", ".join(f"{s}/{x}" for s, x in self._streams)
            raise KeyError(f"unknown stream {source}/{stream}: known streams are {known}") from None

    # -- the public query ---------------------------------------------------
    def records(
        self,
        source: str,
        stream: str,
        start: datetime | str | None = None,
        end: datetime | str | None = None,
    ) -> Iterator[dict]:
        """Every record of the window `[start, end)` as the API serves it, in order."""
        target = self.stream(source, stream)
        for entry in self.entries(source, stream, to_epoch(start), to_epoch(end)):
            yield target.build(entry)

    def entries(
        self,
        source: str,
        stream: str,
        start: int | None,
        end: int | None,
        after: tuple[int, object] | None = None,
        now: int | None = None,
    ) -> Iterator[tuple]:
        """Index entries `(t, id, next_t, visible_at, ref)` in the window, after the cursor."""
        if source == EMPTY_SOURCE and self.scenario == "empty":
            return
        target = self.stream(source, stream)
        now = self.now() if now is None else now
        lo = START if start is None else max(start, START)
        hi = now + 1 if end is None else min(end, now + 1)
        first = lo if after is None else max(lo, after[0])
        if first >= hi:
            return
        for d in range((first - START) // DAY, (hi - 1 - START) // DAY + 1):
            index = target.day_index(d)
            begin = 0
            if after is not None and after[0] >= START + d * DAY:
                begin = bisect_right(index, after, key=lambda e: (e[0], e[1]))
            for position in range(begin, len(index)):
                entry = index[position]
                t = entry[0]
                if t >= hi:
                    break
                if t < lo or entry[2] <= now or entry[3] > now:
                    continue
                yield entry

    def build(self, source: str, stream: str, entry: tuple) -> dict:
        return self.stream(source, stream).build(entry)

    def offset_page(
        self, source: str, stream: str, start: int | None, end: int | None, offset: int, limit: int
    ) -> tuple[int, list[tuple]]:
        """(records in the window, entries offset..offset+limit) for numbered pages.

        A day whose records can no longer change (all later versions and late
        arrivals are behind `now`) is counted once and then skipped by its count,
        so deep pages of a long window stay cheap.
        """
        now = self.now()
        target = self.stream(source, stream)
        lo = START if start is None else max(start, START)
        hi = now + 1 if end is None else min(end, now + 1)
        total, chosen = 0, []
        if lo >= hi or (source == EMPTY_SOURCE and self.scenario == "empty"):
            return 0, []
        settled_before = now - (target.max_lag_days + 4) * DAY
        for d in range((lo - START) // DAY, (hi - 1 - START) // DAY + 1):
            day_lo, day_hi = max(lo, START + d * DAY), min(hi, START + (d + 1) * DAY)
            whole = day_lo == START + d * DAY and day_hi == START + (d + 1) * DAY
            if whole and target.settles and day_hi <= settled_before:
                key = (source, stream, d)
                if key not in self._settled:
                    entries = self.entries(source, stream, day_lo, day_hi, now=now)
                    self._settled[key] = sum(1 for _ in entries)
                count = self._settled[key]
                if total + count <= offset or total >= offset + limit:
                    total += count
                    continue
            for entry in self.entries(source, stream, day_lo, day_hi, now=now):
                if offset <= total < offset + limit:
                    chosen.append(entry)
                total += 1
        return total, chosen

    # -- people -------------------------------------------------------------
    def first_name(self, i: int) -> str:
        return _FIRST[self.h(S_FIRST, i) % len(_FIRST)]

    def last_name(self, i: int) -> str:
        return _LAST[self.h(S_LAST, i) % len(_LAST)]

    def has_email(self, i: int) -> bool:
        return self.u(S_NOEMAIL, i) >= 0.03

    def canonical_email(self, i: int) -> str:
        domain = _DOMAINS[self.h(S_DOMAIN, i) % len(_DOMAINS)]
        return f"{self.first_name(i)}.{self.last_name(i)}{i}@{domain}".lower()

    def email_variant(self, i: int, source_salt: int) -> str | None:
        """The email as one source holds it: same person, a different spelling."""
        if not self.has_email(i):
            return _NO_EMAIL[self.h(S_NOEMAIL, i, source_salt) % len(_NO_EMAIL)]
        email = self.canonical_email(i)
        local, domain = email.split("@")
        kind = self.h(S_VARIANT, i, source_salt) % 10
        gmail = domain in ("gmail.com", "googlemail.com")
        if kind == 1:
            return f"{local.title()}@{domain}"
        if kind == 2:
            return f"  {email} "
        if kind == 3:
            return email.upper()
        if kind == 4 and gmail:
            return f"{local.replace('.', '')}@{domain}"
        if kind == 5 and gmail:
            return f"{local}+{('news', 'shop', 'promo')[source_salt % 3]}@{domain}"
        if kind == 6 and gmail:
            return f"{local[:2]}.{local[2:]}@{domain}"
        return email

    def place(self, i: int, version: int) -> tuple[str, str]:
        return _PLACES[self.h(S_PLACE, i, version) % len(_PLACES)]

    def phone(self, i: int) -> str:
        return f"+49 151 {self.h(S_PHONE, i) % 10_000_000:07d}"

    def is_heavy(self, i: int) -> bool:
        return i % 16 == 0

    def is_engaged(self, i: int) -> bool:
        return self.u(S_ENGAGED, i) < 0.2

    def has_contact(self, i: int) -> bool:
        return self.u(S_CRM, i) < 0.85

    def signup_at(self, i: int) -> int:
        return self.created_at(i) + self.h(S_SIGNUP, i) % (2 * DAY)

    def initial_consent(self, i: int) -> bool:
        return self.u(S_CONSENT, i) < 0.7

    def consent_flip_at(self, i: int) -> int:
        """When the CRM consent flips once (or never)."""
        if self.u(S_FLIP, i) < 0.15:
            return self.signup_at(i) + DAY + self.h(S_FLIP, i, 1) % (150 * DAY)
        return NEVER

    def unsubscribed_at(self, i: int) -> int:
        if self.u(S_UNSUB, i) < 0.12:
            return self.signup_at(i) + 20 * DAY + self.h(S_UNSUB, i, 1) % (600 * DAY)
        return NEVER

    def pick_customer(self, existing: int, *salt: int) -> int:
        """A buyer or visitor among the first `existing` people; heavy buyers are over-drawn."""
        heavy = existing // 16
        if heavy and self.u(*salt, 1) < 0.46:
            return 16 * (1 + self.h(*salt, 2) % heavy)
        return 1 + self.h(*salt, 3) % existing

    # -- products -----------------------------------------------------------
    def products_by(self, t: int) -> int:
        """How many products exist at t: 60 at launch, then one new product a week."""
        if t < START:
            return 0
        latest = 60 + (t - START) // (7 * DAY)
        return latest if self.product_created_at(latest) <= t else latest - 1

    def product_created_at(self, p: int) -> int:
        if p <= 60:
            return START + (p - 1) * HOUR
        return START + (p - 60) * 7 * DAY + self.h(S_PRODUCT, p) % DAY

    def product_period(self, p: int) -> int:
        return (30 + self.h(S_PRODUCT, p, 1) % 91) * DAY

    def product_version(self, p: int, t: int) -> int:
        return (t - self.product_created_at(p)) // self.product_period(p)

    def product_price(self, p: int, version: int) -> int:
        base = 500 + (self.h(S_PRODUCT, p, 2) % 200) * 50
        return base * (100 + 5 * (self.h(S_PRODUCT, p, 3, version) % 5) - 10) // 100


class _Stream:
    """A stream whose record versions are generated per creation day.

    Subclasses give `versions_created_on(day)` (entries of records created that
    day, every version) and `max_lag_days` (how long after creation a version may
    fall); `day_index(day)` collects the versions timed on one day, sorted.
    """

    max_lag_days = 0
    # Days of index kept; event streams hold many entries a day, so fewer of them.
    index_days = 2048
    creation_days = 512
    # Whether a day's records are fixed once the day is old enough (see World.offset_page).
    settles = True

    def __init__(self, world: World) -> None:
        self.world = world
        small = world.customers <= 20_000
        # Large worlds keep few days: one day of email events at 1M people is ~1M entries.
        self.day_index = lru_cache(maxsize=self.index_days if small else 8)(self._day_index)
        cache_days = self.creation_days if world.customers <= 50_000 else 0
        if cache_days:
            self.versions_created_on = lru_cache(maxsize=cache_days)(self.versions_created_on)

    def versions_created_on(self, d: int) -> list[tuple]:
        raise NotImplementedError

    def _day_index(self, d: int) -> list[tuple]:
        lo = START + d * DAY
        hi = lo + DAY
        found = [
            entry
            for created in range(max(0, d - self.max_lag_days), d + 1)
            for entry in self.versions_created_on(created)
            if lo <= entry[0] < hi
        ]
        found.sort(key=lambda e: (e[0], e[1]))
        return found

    def build(self, entry: tuple) -> dict:
        raise NotImplementedError


class _Customers(_Stream):
    max_lag_days = 125

    def versions(self, i: int) -> list[int]:
        w = self.world
        times = [w.created_at(i)]
        for k in range(w.h(S_EDITS, i) % 4):
            times.append(times[-1] + DAY + w.h(S_EDITS, i, k) % (40 * DAY))
        return times

    def versions_created_on(self, d: int) -> list[tuple]:
        out = []
        for i in self.world.persons_created_on(d):
            times = self.versions(i)
            for v, t in enumerate(times):
                following = times[v + 1] if v + 1 < len(times) else NEVER
                out.append((t, i, following, t, v))
        return out

    def build(self, entry: tuple) -> dict:
        t, i, _next, _visible, version = entry
        w = self.world
        city, country = w.place(i, version)
        return {
            "id": i,
            "email": w.email_variant(i, 1),
            "first_name": w.first_name(i),
            "last_name": w.last_name(i),
            "phone": w.phone(i) if w.h(S_PHONE, i, 1) % 3 else None,
            "state": "enabled",
            "verified_email": w.has_email(i),
            "tags": "vip" if w.is_heavy(i) else "",
            "default_address": {"city": city, "country_code": country},
            "created_at": iso(w.created_at(i)),
            "updated_at": iso(t),
        }


class _Orders(_Stream):
    max_lag_days = 27
    vectorise_above = 50_000
    rate_per_person_day = 0.0323

    def count_on(self, d: int) -> int:
        w = self.world
        existing = w.persons_by(START + d * DAY)
        expected = existing * self.rate_per_person_day
        if expected <= 0:
            return 0
        rng = random.Random(w.h(S_ORDERS, d))
        return max(0, round(expected + math.sqrt(expected) * rng.gauss(0.0, 1.0)))

    def schedule(self, oid: int, d: int) -> list[tuple[int, str]]:
        """The order's (time, status) versions, pending first."""
        w = self.world
        t0 = START + d * DAY + w.h(S_ORDER, oid, 1) % DAY
        path = w.u(S_ORDER, oid, 2)
        versions = [(t0, "pending")]
        if path < 0.02:
            return versions
        if path < 0.10:
            versions.append((t0 + 600 + w.h(S_ORDER, oid, 3) % (2 * DAY), "cancelled"))
            return versions
        paid = t0 + 60 + w.h(S_ORDER, oid, 4) % (2 * HOUR)
        fulfilled = paid + DAY // 2 + w.h(S_ORDER, oid, 5) % (4 * DAY)
        versions += [(paid, "paid"), (fulfilled, "fulfilled")]
        if w.u(S_ORDER, oid, 6) < 0.06:
            versions.append((fulfilled + DAY + w.h(S_ORDER, oid, 7) % (20 * DAY), "refunded"))
        return versions

    def versions_created_on(self, d: int) -> list[tuple]:
        out = []
        for n in range(self.count_on(d)):
            oid = d * 1_000_000 + n + 1
            versions = self.schedule(oid, d)
            for v, (t, _status) in enumerate(versions):
                following = versions[v + 1][0] if v + 1 < len(versions) else NEVER
                out.append((t, oid, following, t, v))
        return out

    def _day_index(self, d: int) -> list[tuple]:
        """Small worlds: cached per creation day. Large ones: vectorised, since a day of a
        million-customer world scans ~half a million orders, too slow one by one."""
        w = self.world
        if w.customers <= self.vectorise_above:
            return super()._day_index(d)
        lo = START + d * DAY
        hi = lo + DAY
        found: list[tuple] = []
        for c in range(max(0, d - self.max_lag_days), d + 1):
            n = self.count_on(c)
            if not n:
                continue
            oid = np.arange(c * 1_000_000 + 1, c * 1_000_000 + n + 1, dtype=np.uint64)
            x = w.h_np(S_ORDER, oid)

            def part(k: int, x: np.ndarray = x) -> np.ndarray:
                return _mix_np(x ^ np.uint64(k))

            def unit(k: int) -> np.ndarray:
                return (part(k) >> np.uint64(11)).astype(np.float64) / float(1 << 53)

            t0 = START + c * DAY + (part(1) % np.uint64(DAY)).astype(np.int64)
            path = unit(2)
            cancelled = t0 + 600 + (part(3) % np.uint64(2 * DAY)).astype(np.int64)
            paid = t0 + 60 + (part(4) % np.uint64(2 * HOUR)).astype(np.int64)
            fulfilled = paid + DAY // 2 + (part(5) % np.uint64(4 * DAY)).astype(np.int64)
            refund = unit(6) < 0.06
            refunded = fulfilled + DAY + (part(7) % np.uint64(20 * DAY)).astype(np.int64)
            never = np.full(n, NEVER, dtype=np.int64)
            goes_on = path >= 0.10
            pending_next = np.where(path < 0.02, never, np.where(goes_on, paid, cancelled))
            versions = (
                (t0, np.ones(n, dtype=bool), pending_next, 0),
                (cancelled, (path >= 0.02) & ~goes_on, never, 1),
                (paid, goes_on, fulfilled, 1),
                (fulfilled, goes_on, np.where(refund, refunded, never), 2),
                (refunded, goes_on & refund, never, 3),
            )
            ids = oid.astype(np.int64)
            for times, valid, following, version in versions:
                hits = np.nonzero(valid & (times >= lo) & (times < hi))[0]
                found.extend(
                    (t, i, f, t, version)
                    for t, i, f in zip(
                        times[hits].tolist(),
                        ids[hits].tolist(),
                        following[hits].tolist(),
                        strict=True,
                    )
                )
        found.sort(key=lambda e: (e[0], e[1]))
        return found

    def build(self, entry: tuple) -> dict:
        t, oid, _next, _visible, version = entry
        w = self.world
        d = oid // 1_000_000
        versions = self.schedule(oid, d)
        t0 = versions[0][0]
        customer = w.pick_customer(w.persons_by(START + d * DAY), S_ORDER, oid, 50)
        rng = random.Random(w.h(S_ORDER, oid, 8))
        line_items = []
        for _ in range(1 + int(rng.random() * (4 if w.is_heavy(customer) else 3))):
            p = 1 + int(rng.random() * w.products_by(t0))
            quantity = 1 + int(rng.random() * 3) if rng.random() < 0.3 else 1
            price = w.product_price(p, w.product_version(p, t0))
            line_items.append(
                {"product_id": p, "sku": f"SKU-{p:05d}", "quantity": quantity, "price": price}
            )
        total = sum(item["quantity"] * item["price"] for item in line_items)
        for item in line_items:
            item["price"] = _cents(item["price"])
        customer_id: int | None = customer
        if w.scenario == "bad-orders":
            if w.u(S_BAD, oid, 1) < 0.03:
                total = -total
            if w.u(S_BAD, oid, 2) < 0.02:
                customer_id = None
        return {
            "id": oid,
            "order_number": f"#{oid}",
            "customer_id": customer_id,
            "status": versions[version][1],
            "total": _cents(total),
            "currency": "EUR",
            "line_items": line_items,
            "created_at": iso(t0),
            "updated_at": iso(t),
        }


class _Products(_Stream):
    """A small catalogue whose prices change on a per-product period, forever."""

    settles = False

    def __init__(self, world: World) -> None:
        super().__init__(world)
        self._schedule: list[tuple[int, int]] = []
        self._lock = threading.Lock()

    def _schedules(self, count: int) -> list[tuple[int, int]]:
        w = self.world
        with self._lock:  # requests run on a thread pool; product p must land at index p - 1
            while len(self._schedule) < count:
                p = len(self._schedule) + 1
                self._schedule.append((w.product_created_at(p), w.product_period(p)))
            return self._schedule[:count]

    def _day_index(self, d: int) -> list[tuple]:
        lo = START + d * DAY
        hi = lo + DAY
        found = []
        for p, (created, period) in enumerate(self._schedules(self.world.products_by(hi - 1)), 1):
            k = max(0, (lo - created + period - 1) // period)
            t = created + k * period
            if lo <= t < hi:
                found.append((t, p, t + period, t, k))
        found.sort(key=lambda e: (e[0], e[1]))
        return found

    def build(self, entry: tuple) -> dict:
        t, p, _next, _visible, version = entry
        w = self.world
        return {
            "id": p,
            "sku": f"SKU-{p:05d}",
            "title": f"{_ADJECTIVES[w.h(S_PRODUCT, p, 4) % len(_ADJECTIVES)]} "
            f"{_NOUNS[w.h(S_PRODUCT, p, 5) % len(_NOUNS)]}",
            "category": _CATEGORIES[w.h(S_PRODUCT, p, 6) % len(_CATEGORIES)],
            "price": _cents(w.product_price(p, version)),
            "created_at": iso(w.product_created_at(p)),
            "updated_at": iso(t),
        }


class _Contacts(_Stream):
    max_lag_days = 200

    def versions(self, i: int) -> list[int]:
        w = self.world
        times = [w.signup_at(i)]
        for k in range(w.h(S_EDITS, i, 50) % 3):
            times.append(times[-1] + DAY + w.h(S_EDITS, i, 50, k) % (60 * DAY))
        flip = w.consent_flip_at(i)
        if flip != NEVER:
            times.append(flip)
        return sorted(set(times))

    def versions_created_on(self, d: int) -> list[tuple]:
        w = self.world
        out = []
        for i in w.persons_created_on(d):
            if not w.has_contact(i):
                continue
            times = self.versions(i)
            for v, t in enumerate(times):
                following = times[v + 1] if v + 1 < len(times) else NEVER
                out.append((t, str(10_000_000 + i), following, t, (i, v)))
        return out

    def build(self, entry: tuple) -> dict:
        t, cid, _next, _visible, (i, version) = entry
        w = self.world
        city, country = w.place(i + 7, version)
        consent = w.initial_consent(i) != (w.consent_flip_at(i) <= t)
        record: dict = {
            "id": cid,
            "email": w.email_variant(i, 2),
            "first_name": w.first_name(i),
            "last_name": w.last_name(i),
            "phone": w.phone(i),
            "city": city,
            "country": country,
            "birth_date": f"{1950 + w.h(S_BIRTH, i) % 55}-{1 + w.h(S_BIRTH, i, 1) % 12:02d}-"
            f"{1 + w.h(S_BIRTH, i, 2) % 28:02d}",
            "signup_at": iso(w.signup_at(i)),
            "email_consent": consent,
            "lifecycle_stage": "customer" if w.is_heavy(i) else "subscriber",
            "created_at": iso(w.signup_at(i)),
            "updated_at": iso(t),
        }
        if w.scenario == "schema-drift":
            record["loyalty_tier"] = _TIERS[w.h(S_BIRTH, i, 3) % len(_TIERS)]
            if t >= DRIFT_FROM:
                record["phone_number"] = record.pop("phone")
        return record


class _EmailEvents(_Stream):
    max_lag_days = 6
    index_days = 64
    creation_days = 8
    campaign_weekdays = (1, 4)  # Tuesday and Friday newsletters

    def _campaign_gap(self, d: int) -> int:
        """Days until the next campaign day after day d."""
        for gap in range(1, 8):
            if datetime.fromtimestamp(START + (d + gap) * DAY, UTC).weekday() in (1, 4):
                return gap
        return 7

    def versions_created_on(self, d: int) -> list[tuple]:
        """A campaign day's events, vectorised over the audience (every consented subscriber)."""
        w = self.world
        day_start = START + d * DAY
        if datetime.fromtimestamp(day_start, UTC).weekday() not in self.campaign_weekdays:
            return []
        base = day_start + 10 * HOUR
        next_base = base + self._campaign_gap(d) * DAY
        i = np.arange(1, w.persons_by(base) + 1, dtype=np.uint64)
        if not len(i):
            return []
        sent = base + _mod(_chain(w.h_np(S_SEND, d), i), 4 * HOUR)
        unsub = np.where(
            w.u_np(S_UNSUB, i) < 0.12,
            w.signup_at_np(i) + 20 * DAY + _mod(w.h_np(S_UNSUB, i, 1), 600 * DAY),
            NEVER,
        )
        audience = (
            (w.u_np(S_CRM, i) < 0.85)
            & (w.u_np(S_NOEMAIL, i) >= 0.03)
            & (w.u_np(S_CONSENT, i) < 0.7)
            & (w.signup_at_np(i) <= sent)
            & (unsub > sent)
        )
        i, sent, unsub = i[audience], sent[audience], unsub[audience]
        send_id = i + np.uint64(d * 10_000_000)
        x = w.h_np(S_SEND, send_id)

        def part(k: int) -> np.ndarray:
            return _chain(x, np.uint64(k))

        def unit(k: int) -> np.ndarray:
            return _unit(part(k))

        bounce = unit(1) < 0.015
        delivered = sent + 1 + _mod(part(3), 120)
        engaged = w.u_np(S_ENGAGED, i) < 0.2
        opened = ~bounce & (unit(4) < np.where(engaged, 0.75, 0.12))
        open_at = delivered + 60 + _mod(part(5), 36 * HOUR)
        clicked = opened & (unit(6) < 0.25)
        unsubscribed = ~bounce & (sent <= unsub) & (unsub < next_base)
        unsub_k = 2 + opened.astype(np.int64) + clicked.astype(np.int64)
        kinds = (
            ("sent", sent, np.ones(len(i), dtype=bool), np.zeros(len(i), dtype=np.int64)),
            ("bounce", sent + 2 + _mod(part(2), 60), bounce, np.ones(len(i), dtype=np.int64)),
            ("delivered", delivered, ~bounce, np.ones(len(i), dtype=np.int64)),
            ("open", open_at, opened, np.full(len(i), 2, dtype=np.int64)),
            ("click", open_at + 5 + _mod(part(7), 600), clicked, np.full(len(i), 3)),
            ("unsubscribe", unsub, unsubscribed, unsub_k),
        )
        out: list[tuple] = []
        for kind, times, valid, ks in kinds:
            hits = np.nonzero(valid)[0]
            if not len(hits):
                continue
            k = ks[hits].astype(np.uint64)
            late_hash = _chain(x[hits], k + np.uint64(10))
            delay = 2 * HOUR + _mod(_chain(x[hits], k + np.uint64(20)), 46 * HOUR)
            t = times[hits]
            visible = np.where(_unit(late_hash) < 0.05, t + delay, t)
            for t_, v_, s_, k_, i_ in zip(
                t.tolist(),
                visible.tolist(),
                send_id[hits].tolist(),
                k.tolist(),
                i[hits].tolist(),
                strict=True,
            ):
                out.append((t_, s_ * 10 + k_, NEVER, v_, (i_, d, kind)))
        return out

    def scalar_versions_created_on(self, d: int) -> list[tuple]:
        """The one-by-one definition the vectorised version reproduces (kept for tests)."""
        w = self.world
        day_start = START + d * DAY
        if datetime.fromtimestamp(day_start, UTC).weekday() not in self.campaign_weekdays:
            return []
        base = day_start + 10 * HOUR
        next_base = base + self._campaign_gap(d) * DAY
        out: list[tuple] = []
        for i in range(1, w.persons_by(base) + 1):
            if not (w.has_contact(i) and w.has_email(i) and w.initial_consent(i)):
                continue
            sent = base + w.h(S_SEND, d, i) % (4 * HOUR)
            if w.signup_at(i) > sent or w.unsubscribed_at(i) <= sent:
                continue
            out.extend(self._send_events(d, i, sent, next_base))
        return out

    def _send_events(self, d: int, i: int, sent: int, next_base: int) -> Iterable[tuple]:
        w = self.world
        send_id = d * 10_000_000 + i
        events = [(sent, "sent")]
        if w.u(S_SEND, send_id, 1) < 0.015:
            events.append((sent + 2 + w.h(S_SEND, send_id, 2) % 60, "bounce"))
        else:
            delivered = sent + 1 + w.h(S_SEND, send_id, 3) % 120
            events.append((delivered, "delivered"))
            if w.u(S_SEND, send_id, 4) < (0.75 if w.is_engaged(i) else 0.12):
                opened = delivered + 60 + w.h(S_SEND, send_id, 5) % (36 * HOUR)
                events.append((opened, "open"))
                if w.u(S_SEND, send_id, 6) < 0.25:
                    events.append((opened + 5 + w.h(S_SEND, send_id, 7) % 600, "click"))
            unsubscribed = w.unsubscribed_at(i)
            if sent <= unsubscribed < next_base:
                events.append((unsubscribed, "unsubscribe"))
        for k, (t, kind) in enumerate(events):
            late = w.u(S_SEND, send_id, 10 + k) < 0.05
            visible = t + 2 * HOUR + w.h(S_SEND, send_id, 20 + k) % (46 * HOUR) if late else t
            yield (t, send_id * 10 + k, NEVER, visible, (i, d, kind))

    def build(self, entry: tuple) -> dict:
        t, key, _next, _visible, (i, d, kind) = entry
        w = self.world
        message_id = f"em_{key // 10:013d}"
        return {
            "id": f"{message_id}_{key % 10}",
            "email": w.email_variant(i, 3),
            "type": kind,
            "campaign_id": "cmp_" + time.strftime("%Y%m%d", time.gmtime(START + d * DAY)),
            "message_id": message_id,
            "occurred_at": iso(t),
        }


class _WebEvents(_Stream):
    max_lag_days = 1
    index_days = 128
    creation_days = 4
    _kinds = ("page_view", "product_view", "add_to_cart", "checkout_started")

    def _sessions(self, d: int) -> tuple[int, int, int]:
        """(sessions that day, people existing, products existing)."""
        w = self.world
        day_start = START + d * DAY
        existing = w.persons_by(day_start)
        if not existing:
            return 0, 0, 0
        rng = random.Random(w.h(S_SESSIONS, d))
        expected = existing * 0.05
        sessions = max(0, round(expected + math.sqrt(expected) * rng.gauss(0.0, 1.0)))
        return sessions, existing, w.products_by(day_start)

    def versions_created_on(self, d: int) -> list[tuple]:
        """A day's sessions, vectorised over sessions and stepped through their clicks."""
        w = self.world
        sessions, existing, products = self._sessions(d)
        if not sessions:
            return []
        sid = np.arange(d * 1_000_000, d * 1_000_000 + sessions, dtype=np.uint64)
        x = w.h_np(S_SESSION, sid)
        t = START + d * DAY + _mod(x, DAY)
        late = _unit(_chain(x, np.uint64(1))) < 0.04
        delay = np.where(late, 6 * HOUR + _mod(_chain(x, np.uint64(2)), 66 * HOUR), 0)
        y = _chain(x, np.uint64(50))
        anyone = 1 + _mod(_chain(y, np.uint64(3)), existing)
        heavy = existing // 16
        if heavy:
            buyer = 16 * (1 + _mod(_chain(y, np.uint64(2)), heavy))
            anyone = np.where(_unit(_chain(y, np.uint64(1))) < 0.46, buyer, anyone)
        logged_in = _unit(_chain(x, np.uint64(4))) < 0.7
        steps = 2 + _mod(_chain(x, np.uint64(5)), 7)
        rolls, picks, gaps = (_chain(x, np.uint64(salt)) for salt in (10, 11, 12))
        in_cart = np.zeros(sessions, dtype=bool)
        ids, customers, logins = sid.tolist(), anyone.tolist(), logged_in.tolist()
        out: list[tuple] = []
        for k in range(int(steps.max())):
            kk = np.uint64(k)
            roll = _unit(_chain(rolls, kk))
            page = (roll < 0.25) if k else np.ones(sessions, dtype=bool)
            checkout = ~page & in_cart & (roll < 0.45)
            view = ~page & ~checkout & ((roll < 0.75) | in_cart)
            cart = ~page & ~checkout & ~view
            kind = np.select([page, checkout, view], [0, 3, 1], default=2)
            product = np.where(page, 0, 1 + _mod(_chain(picks, kk), products))
            in_cart |= cart
            for n in np.nonzero(steps > k)[0].tolist():
                t_n = int(t[n])
                out.append(
                    (
                        t_n,
                        ids[n] * 100 + k,
                        NEVER,
                        t_n + int(delay[n]),
                        (ids[n], customers[n], logins[n], self._kinds[kind[n]], int(product[n])),
                    )
                )
            t = t + 5 + _mod(_chain(gaps, kk), 175)
        return out

    def scalar_versions_created_on(self, d: int) -> list[tuple]:
        """The one-by-one definition the vectorised version reproduces (kept for tests)."""
        w = self.world
        day_start = START + d * DAY
        sessions, existing, products = self._sessions(d)
        out: list[tuple] = []
        for n in range(sessions):
            sid = d * 1_000_000 + n
            t = day_start + w.h(S_SESSION, sid) % DAY
            late = w.u(S_SESSION, sid, 1) < 0.04
            delay = 6 * HOUR + w.h(S_SESSION, sid, 2) % (66 * HOUR) if late else 0
            customer = w.pick_customer(existing, S_SESSION, sid, 50)
            logged_in = w.u(S_SESSION, sid, 4) < 0.7
            steps = 2 + w.h(S_SESSION, sid, 5) % 7
            in_cart = False
            for k in range(steps):
                roll = w.u(S_SESSION, sid, 10, k)
                if k == 0 or roll < 0.25:
                    kind = "page_view"
                elif in_cart and roll < 0.45:
                    kind = "checkout_started"
                elif roll < 0.75 or in_cart:
                    kind = "product_view"
                else:
                    kind = "add_to_cart"
                    in_cart = True
                product = 1 + w.h(S_SESSION, sid, 11, k) % products if kind != "page_view" else 0
                key = sid * 100 + k
                out.append((t, key, NEVER, t + delay, (sid, customer, logged_in, kind, product)))
                t += 5 + w.h(S_SESSION, sid, 12, k) % 175
        return out

    def build(self, entry: tuple) -> dict:
        t, key, _next, _visible, (sid, customer, logged_in, kind, product) = entry
        w = self.world
        anonymous = w.h(S_SESSION, customer, 99) if logged_in else w.h(S_SESSION, sid, 98)
        return {
            "id": web_event_id(t, key),
            "anonymous_id": f"anon_{anonymous % (1 << 48):012x}",
            "customer_id": customer if logged_in else None,
            "session_id": f"s_{sid}",
            "type": kind,
            "product_id": product or None,
            "url": f"/products/SKU-{product:05d}" if product else "/",
            "occurred_at": iso(t),
        }
