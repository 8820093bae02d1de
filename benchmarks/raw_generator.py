"""The demo world's generator, vectorised, straight into raw tables (no HTTP).

`demo_api.world.World` builds records one by one (fine for an API page, hours
for a million customers). This module computes the same things over numpy
arrays with World's own hash streams (`h_np`, `created_at_np`, its salts and
schedules) and lets DuckDB format the JSON, so a 1M-customer raw warehouse
takes minutes:

- shop `customers` and crm `contacts`: every field as World builds it, version
  for version (same ids, names, email variants, places, consent flips);
- shop `orders`: World's order ids, counts per day (at a rate chosen to hit
  the target), status schedules and buyer picks; line items drawn like World's
  (1-3 items, 1-4 for heavy buyers, 30% with quantity 1-3, the product's
  price version at order time) from hash streams instead of `random.Random`;
- esp `email_events`: World's Tuesday/Friday campaigns and per-send events,
  the audience thinned by a hash to hit the target;
- web `events`: World's sessions and click paths, sessions per person-day
  chosen to hit the target;
- shop `products`: World's records, built one by one (a few thousand).

Raw rows have the extractor's layout (extract/load.py). The history is pulled
in daily slices: a version lands in the slice of the day it happened, pulled
at the day's end, and only if it was still current then (so a record changed
twice in a day shows once, one changed on several days shows several times and
dedup has work); an event made visible late (World's late arrivals) lands in
the first pull after it became visible, as the extractor's lookback finds it.
Each slice is stamped `_extracted_at` = its end + 10 minutes.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from demo_api.world import (
    _DOMAINS,
    _FIRST,
    _LAST,
    _NO_EMAIL,
    _PLACES,
    DAY,
    HOUR,
    NEVER,
    S_BIRTH,
    S_CONSENT,
    S_CRM,
    S_DOMAIN,
    S_EDITS,
    S_ENGAGED,
    S_FIRST,
    S_FLIP,
    S_LAST,
    S_NOEMAIL,
    S_ORDER,
    S_PHONE,
    S_PLACE,
    S_SEND,
    S_SESSION,
    S_SESSIONS,
    S_UNSUB,
    S_VARIANT,
    START,
    World,
    _chain,
    _mod,
    _unit,
)

RAW_DDL = """
create table if not exists raw.{table} (
    record JSON, record_id VARCHAR, record_updated_at TIMESTAMP, _source VARCHAR,
    _stream VARCHAR, _interval_start TIMESTAMP, _interval_end TIMESTAMP,
    _run_id VARCHAR, _extracted_at TIMESTAMP
)
"""
TABLES = (
    "shop__customers",
    "shop__products",
    "shop__orders",
    "crm__contacts",
    "esp__email_events",
    "web__events",
)
PULL_LAG = 600  # seconds from a slice's end to its _extracted_at
# World's means, used to turn target sizes into rates.
WEB_STEPS_MEAN = 5.0  # 2 + h % 7
EMAIL_EVENTS_PER_SEND = 2.3
EMAIL_AUDIENCE_SHARE = 0.85 * 0.97 * 0.7 * 0.95
# A salt of this module's own for the email audience thinning (World has 101-123).
S_THIN = 201
ORDER_CHUNK = 400_000
PEOPLE_CHUNK = 250_000


def _q(values) -> str:
    return "[" + ", ".join("NULL" if v is None else "'" + v + "'" for v in values) + "]"


# DuckDB snippets shared by the streams.
ISO = "strftime(make_timestamp(({0})::BIGINT * 1000000), '%Y-%m-%dT%H:%M:%SZ')"
TS = "make_timestamp(({0})::BIGINT * 1000000)"
CENTS = "printf('%d.%02d', ({0}) // 100, ({0}) % 100)"
LABELS = f"""
    {TS.format("pull - 86400")} as _interval_start,
    {TS.format("pull")} as _interval_end,
    'bench_' || strftime({TS.format("pull")}, '%Y%m%d') as _run_id,
    {TS.format(f"pull + {PULL_LAG}")} as _extracted_at
"""
# World.email_variant over (first, last, domain, i, has_email, kind, no_email index);
# {salt} picks the +tag as World does.
EMAIL = """
case when not has_email then {no_email}[no_email + 1]
else (
    case
        when variant = 1 then fname || '.' || lname || cast(i as varchar) || '@' || domain
        when variant = 2 then '  ' || canonical || ' '
        when variant = 3 then upper(canonical)
        when variant = 4 and gmail then lower(fname || lname) || cast(i as varchar) || '@' || domain
        when variant = 5 and gmail then local || '+{tag}@' || domain
        when variant = 6 and gmail then local[1:2] || '.' || local[3:] || '@' || domain
        else canonical
    end
) end
"""
PEOPLE = f"""
    {_q(_FIRST)}[first_ix + 1] as fname,
    {_q(_LAST)}[last_ix + 1] as lname,
    {_q(_DOMAINS)}[domain_ix + 1] as domain
"""
PEOPLE_DERIVED = """
    lower(fname || '.' || lname || cast(i as varchar)) as local,
    lower(fname || '.' || lname || cast(i as varchar)) || '@' || domain as canonical,
    domain in ('gmail.com', 'googlemail.com') as gmail
"""
CITY = _q([c for c, _ in _PLACES])
COUNTRY = _q([c for _, c in _PLACES])


@dataclass
class Plan:
    """Target sizes turned into World parameters and rates."""

    customers: int
    orders: int
    web_events: int
    email_events: int
    as_of: datetime
    seed: int = 7
    world: World = field(init=False)
    order_rate: float = field(init=False)
    session_rate: float = field(init=False)
    send_share: float = field(init=False)

    def __post_init__(self) -> None:
        as_of = int(self.as_of.timestamp())
        if (as_of - START) % DAY:
            raise ValueError("as_of must be a midnight (UTC): slices are whole days")
        self.as_of_epoch = as_of
        # World spreads its people until 2030: size it so `customers` exist at as_of.
        lo, hi = self.customers, self.customers * 20
        while lo < hi:
            mid = (lo + hi) // 2
            if World(self.seed, min(mid, 10_000_000)).persons_by(as_of) >= self.customers:
                hi = mid
            else:
                lo = mid + 1
        self.world = World(seed=self.seed, customers=min(lo, 10_000_000), now=self.as_of)
        days = range((as_of - START) // DAY)
        person_days = sum(self.world.persons_by(START + d * DAY) for d in days) or 1
        self.order_rate = self.orders / person_days
        self.session_rate = self.web_events / WEB_STEPS_MEAN / person_days
        campaign_people = sum(
            self.world.persons_by(START + d * DAY + 10 * HOUR) for d in days if _is_campaign_day(d)
        )
        sends = max(1, campaign_people) * EMAIL_AUDIENCE_SHARE * EMAIL_EVENTS_PER_SEND
        self.send_share = min(1.0, self.email_events / sends)
        # World's own order counts per day, at this plan's rate.
        self.world.stream("shop", "orders").rate_per_person_day = self.order_rate


def _is_campaign_day(d: int) -> bool:
    return datetime.fromtimestamp(START + d * DAY, UTC).weekday() in (1, 4)


def pulled(t: np.ndarray, following: np.ndarray, visible: np.ndarray | None = None):
    """(pull time, kept) of each version: the end of its day's slice, or of the first
    day it was visible by; kept only if still current at that pull."""
    end = START + ((t - START) // DAY + 1) * DAY
    if visible is not None:
        end = np.maximum(end, START + ((visible - START) // DAY + 1) * DAY)
    return end, following > end


class Generator:
    """Writes the raw rows whose slices end in (lo, hi] for a Plan."""

    def __init__(self, plan: Plan, con: duckdb.DuckDBPyConnection) -> None:
        self.plan = plan
        self.w = plan.world
        self.con = con
        con.execute("set TimeZone = 'UTC'")
        con.execute("create schema if not exists raw")
        for table in TABLES:
            con.execute(RAW_DDL.format(table=table))

    # -- plumbing -----------------------------------------------------------
    def _insert(self, table: str, frame: pd.DataFrame, select: str, lo: int, hi: int) -> int:
        frame = frame[(frame["pull"] > lo) & (frame["pull"] <= hi)]
        if frame.empty:
            return 0
        self.con.register("chunk", frame)
        try:
            self.con.execute(f"insert into raw.{table} {select} order by pull, record_id")
        finally:
            self.con.unregister("chunk")
        return len(frame)

    def run(self, lo: datetime | None, hi: datetime, log: Callable[[str], None] = print) -> dict:
        """Every stream's rows of the slices ending in (lo, hi]; counts per table."""
        lo_t = START if lo is None else int(lo.timestamp())
        hi_t = int(hi.timestamp())
        counts = {}
        for table, fn in (
            ("shop__customers", self.customers),
            ("shop__products", self.products),
            ("crm__contacts", self.contacts),
            ("shop__orders", self.orders),
            ("esp__email_events", self.email_events),
            ("web__events", self.web_events),
        ):
            counts[table] = sum(fn(lo_t, hi_t))
            log(f"  {table}: {counts[table]:,} rows")
        return counts

    def _people(self, hi: int) -> Iterator[np.ndarray]:
        existing = self.w.persons_by(hi - 1)
        for first in range(1, existing + 1, PEOPLE_CHUNK):
            yield np.arange(first, min(existing, first + PEOPLE_CHUNK - 1) + 1, dtype=np.uint64)

    def _person_columns(self, i: np.ndarray, source_salt: int) -> dict[str, np.ndarray]:
        w = self.w
        return {
            "i": i.astype(np.int64),
            "first_ix": _mod(w.h_np(S_FIRST, i), len(_FIRST)),
            "last_ix": _mod(w.h_np(S_LAST, i), len(_LAST)),
            "domain_ix": _mod(w.h_np(S_DOMAIN, i), len(_DOMAINS)),
            "has_email": w.u_np(S_NOEMAIL, i) >= 0.03,
            "no_email": _mod(_chain(w.h_np(S_NOEMAIL, i), np.uint64(source_salt)), len(_NO_EMAIL)),
            "variant": _mod(_chain(w.h_np(S_VARIANT, i), np.uint64(source_salt)), 10),
        }

    @staticmethod
    def _email_sql(source_salt: int) -> str:
        return EMAIL.format(no_email=_q(_NO_EMAIL), tag=("news", "shop", "promo")[source_salt % 3])

    @staticmethod
    def _explode(times: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(row, version, t, following) of an (n, k) array of version times (NEVER = none)."""
        following = np.concatenate([times[:, 1:], np.full((len(times), 1), NEVER)], axis=1)
        row, version = np.nonzero(times != NEVER)
        return row, version, times[row, version], following[row, version]

    # -- shop customers -----------------------------------------------------
    def customers(self, lo: int, hi: int) -> Iterator[int]:
        w = self.w
        for i in self._people(hi):
            edits = _mod(w.h_np(S_EDITS, i), 4)
            times = np.full((len(i), 4), NEVER, dtype=np.int64)
            times[:, 0] = w.created_at_np(i)
            x = w.h_np(S_EDITS, i)
            for k in range(3):
                step = times[:, k] + DAY + _mod(_chain(x, np.uint64(k)), 40 * DAY)
                times[:, k + 1] = np.where(edits > k, step, NEVER)
            row, version, t, following = self._explode(times)
            pull, kept = pulled(t, following)
            row, version, t, pull = row[kept], version[kept], t[kept], pull[kept]
            people = {k: v[row] for k, v in self._person_columns(i, 1).items()}
            ii = i[row]
            frame = pd.DataFrame(
                {
                    **people,
                    "created": times[row, 0],
                    "t": t,
                    "pull": pull,
                    "place": _mod(_chain(w.h_np(S_PLACE, ii), version.astype(np.uint64)), 12),
                    "phone": _mod(w.h_np(S_PHONE, ii), 10_000_000),
                    "has_phone": _mod(_chain(w.h_np(S_PHONE, ii), np.uint64(1)), 3) != 0,
                }
            )
            yield self._insert(
                "shop__customers",
                frame,
                f"""
                with p as (select *, {PEOPLE} from chunk), q as (select *, {PEOPLE_DERIVED} from p)
                select json_object(
                    'id', i,
                    'email', {self._email_sql(1)},
                    'first_name', fname,
                    'last_name', lname,
                    'phone', case when has_phone then printf('+49 151 %07d', phone) end,
                    'state', 'enabled',
                    'verified_email', has_email,
                    'tags', case when i % 16 = 0 then 'vip' else '' end,
                    'default_address', json_object(
                        'city', {CITY}[place + 1], 'country_code', {COUNTRY}[place + 1]),
                    'created_at', {ISO.format("created")},
                    'updated_at', {ISO.format("t")}
                ) as record,
                cast(i as varchar) as record_id, {TS.format("t")} as record_updated_at,
                'shop' as _source, 'customers' as _stream, {LABELS}
                from q
                """,
                lo,
                hi,
            )

    # -- crm contacts -------------------------------------------------------
    def contacts(self, lo: int, hi: int) -> Iterator[int]:
        w = self.w
        for i in self._people(hi):
            i = i[w.u_np(S_CRM, i) < 0.85]
            signup = w.signup_at_np(i)
            x = w.h_np(S_EDITS, i, 50)
            edits = _mod(x, 3)
            times = np.full((len(i), 4), NEVER, dtype=np.int64)
            times[:, 0] = signup
            for k in range(2):
                step = times[:, k] + DAY + _mod(_chain(x, np.uint64(k)), 60 * DAY)
                times[:, k + 1] = np.where(edits > k, step, NEVER)
            flip = np.where(
                w.u_np(S_FLIP, i) < 0.15,
                signup + DAY + _mod(w.h_np(S_FLIP, i, 1), 150 * DAY),
                NEVER,
            )
            times[:, 3] = flip
            times.sort(axis=1)
            # sorted(set(times)): a repeated time is one version.
            repeated = np.zeros_like(times, dtype=bool)
            repeated[:, 1:] = (times[:, 1:] == times[:, :-1]) & (times[:, 1:] != NEVER)
            times = np.where(repeated, NEVER, times)
            times.sort(axis=1)
            row, version, t, following = self._explode(times)
            pull, kept = pulled(t, following)
            row, version, t, pull = row[kept], version[kept], t[kept], pull[kept]
            ii = i[row]
            consent = (w.u_np(S_CONSENT, ii) < 0.7) != (flip[row] <= t)
            xb = w.h_np(S_BIRTH, ii)
            frame = pd.DataFrame(
                {
                    **{k: v[row] for k, v in self._person_columns(i, 2).items()},
                    "signup": signup[row],
                    "t": t,
                    "pull": pull,
                    "place": _mod(
                        _chain(w.h_np(S_PLACE, ii + np.uint64(7)), version.astype(np.uint64)), 12
                    ),
                    "phone": _mod(w.h_np(S_PHONE, ii), 10_000_000),
                    "consent": consent,
                    "birth_y": 1950 + _mod(xb, 55),
                    "birth_m": 1 + _mod(_chain(xb, np.uint64(1)), 12),
                    "birth_d": 1 + _mod(_chain(xb, np.uint64(2)), 28),
                }
            )
            yield self._insert(
                "crm__contacts",
                frame,
                f"""
                with p as (select *, {PEOPLE} from chunk), q as (select *, {PEOPLE_DERIVED} from p)
                select json_object(
                    'id', cast(10000000 + i as varchar),
                    'email', {self._email_sql(2)},
                    'first_name', fname,
                    'last_name', lname,
                    'phone', printf('+49 151 %07d', phone),
                    'city', {CITY}[place + 1],
                    'country', {COUNTRY}[place + 1],
                    'birth_date', printf('%d-%02d-%02d', birth_y, birth_m, birth_d),
                    'signup_at', {ISO.format("signup")},
                    'email_consent', consent,
                    'lifecycle_stage', case when i % 16 = 0 then 'customer' else 'subscriber' end,
                    'created_at', {ISO.format("signup")},
                    'updated_at', {ISO.format("t")}
                ) as record,
                cast(10000000 + i as varchar) as record_id, {TS.format("t")} as record_updated_at,
                'crm' as _source, 'contacts' as _stream, {LABELS}
                from q
                """,
                lo,
                hi,
            )

    # -- shop products (World's records, one by one: a few thousand) ---------
    def products(self, lo: int, hi: int) -> Iterator[int]:
        import json

        w = self.w
        stream = w.stream("shop", "products")
        rows = []
        for p in range(1, w.products_by(hi - 1) + 1):
            created, period = w.product_created_at(p), w.product_period(p)
            k = 0
            while created + k * period < hi:
                t = created + k * period
                pull, kept = pulled(np.array([t]), np.array([t + period]))
                if kept[0]:
                    record = stream.build((t, p, t + period, t, k))
                    rows.append((json.dumps(record), str(p), t, int(pull[0])))
                k += 1
        frame = pd.DataFrame(rows, columns=["record", "record_id", "t", "pull"])
        yield self._insert(
            "shop__products",
            frame,
            f"""select record::JSON, record_id, {TS.format("t")}, 'shop', 'products', {LABELS}
            from chunk""",
            lo,
            hi,
        )

    # -- shop orders ----------------------------------------------------------
    def _product_tables(self, hi: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """created[p], period[p] and price[p, version] in cents for every product by hi."""
        w = self.w
        count = w.products_by(hi)
        created = np.array([0] + [w.product_created_at(p) for p in range(1, count + 1)])
        period = np.array([1] + [w.product_period(p) for p in range(1, count + 1)])
        versions = int(((hi - created[1:]) // period[1:]).max()) + 1
        price = np.zeros((count + 1, versions), dtype=np.int64)
        for p in range(1, count + 1):
            for v in range(versions):
                price[p, v] = w.product_price(p, v)
        return created, period, price

    def orders(self, lo: int, hi: int) -> Iterator[int]:
        w = self.w
        stream = w.stream("shop", "orders")
        created, period, price = self._product_tables(hi)
        first_day = max(0, (lo - START) // DAY - stream.max_lag_days - 1)
        days = range(first_day, (hi - START) // DAY)
        batch: list[pd.DataFrame] = []
        size = 0
        for c in days:
            n = stream.count_on(c)
            if not n:
                continue
            frame = self._orders_of_day(c, n, created, period, price)
            batch.append(frame)
            size += len(frame)
            if size >= ORDER_CHUNK:
                yield self._insert_orders(pd.concat(batch), lo, hi)
                batch, size = [], 0
        if batch:
            yield self._insert_orders(pd.concat(batch), lo, hi)

    def _orders_of_day(self, c, n, created, period, price) -> pd.DataFrame:
        w = self.w
        day_start = START + c * DAY
        oid = np.arange(c * 1_000_000 + 1, c * 1_000_000 + n + 1, dtype=np.uint64)
        x = w.h_np(S_ORDER, oid)

        def part(k: int) -> np.ndarray:
            return _chain(x, np.uint64(k))

        # World._Orders schedule, as in its vectorised day index.
        t0 = day_start + _mod(part(1), DAY)
        path = _unit(part(2))
        cancelled = t0 + 600 + _mod(part(3), 2 * DAY)
        paid = t0 + 60 + _mod(part(4), 2 * HOUR)
        fulfilled = paid + DAY // 2 + _mod(part(5), 4 * DAY)
        refund = _unit(part(6)) < 0.06
        refunded = fulfilled + DAY + _mod(part(7), 20 * DAY)
        goes_on = path >= 0.10
        times = np.full((n, 4), NEVER, dtype=np.int64)
        status = np.zeros((n, 4), dtype=np.int64)  # pending, paid, fulfilled, cancelled, refunded
        times[:, 0] = t0
        times[:, 1] = np.where(goes_on, paid, np.where(path >= 0.02, cancelled, NEVER))
        status[:, 1] = np.where(goes_on, 1, 3)
        times[:, 2] = np.where(goes_on, fulfilled, NEVER)
        status[:, 2] = 2
        times[:, 3] = np.where(goes_on & refund, refunded, NEVER)
        status[:, 3] = 4
        # World.pick_customer(persons_by(day), S_ORDER, oid, 50)
        existing = w.persons_by(day_start)
        y = part(50)
        customer = 1 + _mod(_chain(y, np.uint64(3)), existing)
        heavy = existing // 16
        if heavy:
            buyer = 16 * (1 + _mod(_chain(y, np.uint64(2)), heavy))
            customer = np.where(_unit(_chain(y, np.uint64(1))) < 0.46, buyer, customer)
        # Line items: 1-3 (1-4 for heavy buyers), products existing at t0, price at t0.
        z = part(8)
        items = 1 + (_unit(_chain(z, np.uint64(0))) * np.where(customer % 16 == 0, 4, 3)).astype(
            np.int64
        )
        latest = 60 + (t0 - START) // (7 * DAY)
        latest = np.minimum(latest, len(created) - 1)
        products = np.where(created[latest] <= t0, latest, latest - 1)
        cols: dict[str, np.ndarray] = {}
        total = np.zeros(n, dtype=np.int64)
        for j in range(4):
            base = _chain(z, np.uint64(10 + 3 * j))
            p = 1 + (_unit(base) * products).astype(np.int64)
            several = _unit(_chain(base, np.uint64(1))) < 0.3
            quantity = np.where(several, 1 + (_unit(_chain(base, np.uint64(2))) * 3).astype(int), 1)
            cents = price[p, (t0 - created[p]) // period[p]]
            total += np.where(items > j, quantity * cents, 0)
            cols |= {f"p{j}": p, f"q{j}": quantity, f"c{j}": cents}
        row, version, t, following = self._explode(times)
        pull, kept = pulled(t, following)
        row, version, t, pull = row[kept], version[kept], t[kept], pull[kept]
        return pd.DataFrame(
            {
                "id": oid[row].astype(np.int64),
                "customer": customer[row],
                "status": status[row, version],
                "total": total[row],
                "items": items[row],
                **{k: v[row] for k, v in cols.items()},
                "t0": t0[row],
                "t": t,
                "pull": pull,
            }
        )

    def _insert_orders(self, frame: pd.DataFrame, lo: int, hi: int) -> int:
        item = (
            "{{'product_id': p{j}, 'sku': printf('SKU-%05d', p{j}), 'quantity': q{j}, "
            "'price': " + CENTS.format("c{j}") + "}}"
        )
        items = ", ".join(item.format(j=j) for j in range(4))
        statuses = _q(("pending", "paid", "fulfilled", "cancelled", "refunded"))
        return self._insert(
            "shop__orders",
            frame,
            f"""
            select json_object(
                'id', id,
                'order_number', '#' || cast(id as varchar),
                'customer_id', customer,
                'status', {statuses}[status + 1],
                'total', {CENTS.format("total")},
                'currency', 'EUR',
                'line_items', to_json(list_slice([{items}], 1, items)),
                'created_at', {ISO.format("t0")},
                'updated_at', {ISO.format("t")}
            ) as record,
            cast(id as varchar) as record_id, {TS.format("t")} as record_updated_at,
            'shop' as _source, 'orders' as _stream, {LABELS}
            from chunk
            """,
            lo,
            hi,
        )

    # -- esp email events -----------------------------------------------------
    def email_events(self, lo: int, hi: int) -> Iterator[int]:
        w = self.w
        stream = w.stream("esp", "email_events")
        first_day = max(0, (lo - START) // DAY - stream.max_lag_days - 1)
        batch: list[pd.DataFrame] = []
        size = 0
        for d in range(first_day, (hi - START) // DAY):
            if not _is_campaign_day(d):
                continue
            frame = self._sends_of_day(d, stream._campaign_gap(d))
            if frame is None:
                continue
            batch.append(frame)
            size += len(frame)
            if size >= ORDER_CHUNK:
                yield self._insert_email(pd.concat(batch), lo, hi)
                batch, size = [], 0
        if batch:
            yield self._insert_email(pd.concat(batch), lo, hi)

    def _sends_of_day(self, d: int, gap: int) -> pd.DataFrame | None:
        """World._EmailEvents.versions_created_on, the audience thinned to the plan's share."""
        w = self.w
        base = START + d * DAY + 10 * HOUR
        next_base = base + gap * DAY
        i = np.arange(1, w.persons_by(base) + 1, dtype=np.uint64)
        i = i[_unit(_chain(w.h_np(S_THIN, d), i)) < self.plan.send_share]
        if not len(i):
            return None
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
        if not len(i):
            return None
        send_id = i + np.uint64(d * 10_000_000)
        x = w.h_np(S_SEND, send_id)

        def part(k: int) -> np.ndarray:
            return _chain(x, np.uint64(k))

        bounce = _unit(part(1)) < 0.015
        delivered = sent + 1 + _mod(part(3), 120)
        engaged = w.u_np(S_ENGAGED, i) < 0.2
        opened = ~bounce & (_unit(part(4)) < np.where(engaged, 0.75, 0.12))
        open_at = delivered + 60 + _mod(part(5), 36 * HOUR)
        clicked = opened & (_unit(part(6)) < 0.25)
        unsubscribed = ~bounce & (sent <= unsub) & (unsub < next_base)
        unsub_k = 2 + opened.astype(np.int64) + clicked.astype(np.int64)
        n = len(i)
        kinds = (
            (sent, np.ones(n, dtype=bool), np.zeros(n, dtype=np.int64)),
            (sent + 2 + _mod(part(2), 60), bounce, np.ones(n, dtype=np.int64)),
            (delivered, ~bounce, np.ones(n, dtype=np.int64)),
            (open_at, opened, np.full(n, 2, dtype=np.int64)),
            (open_at + 5 + _mod(part(7), 600), clicked, np.full(n, 3, dtype=np.int64)),
            (unsub, unsubscribed, unsub_k),
        )
        people = self._person_columns(i, 3)
        frames = []
        for kind, (times, valid, ks) in enumerate(kinds):
            hits = np.nonzero(valid)[0]
            if not len(hits):
                continue
            k = ks[hits].astype(np.uint64)
            late = _unit(_chain(x[hits], k + np.uint64(10))) < 0.05
            delay = 2 * HOUR + _mod(_chain(x[hits], k + np.uint64(20)), 46 * HOUR)
            t = times[hits]
            visible = np.where(late, t + delay, t)
            pull, _ = pulled(t, np.full(len(t), NEVER), visible)
            frames.append(
                pd.DataFrame(
                    {
                        "send_id": send_id[hits].astype(np.int64),
                        "k": k.astype(np.int64),
                        "kind": kind,
                        "d": d,
                        "t": t,
                        "pull": pull,
                        **{name: values[hits] for name, values in people.items()},
                    }
                )
            )
        return pd.concat(frames)

    def _insert_email(self, frame: pd.DataFrame, lo: int, hi: int) -> int:
        kinds = _q(("sent", "bounce", "delivered", "open", "click", "unsubscribe"))
        return self._insert(
            "esp__email_events",
            frame,
            f"""
            with p as (select *, {PEOPLE} from chunk), q as (select *, {PEOPLE_DERIVED} from p)
            select json_object(
                'id', printf('em_%013d_%d', send_id, k),
                'email', {self._email_sql(3)},
                'type', {kinds}[kind + 1],
                'campaign_id', 'cmp_' || strftime({TS.format(f"({START} + d * 86400)")}, '%Y%m%d'),
                'message_id', printf('em_%013d', send_id),
                'occurred_at', {ISO.format("t")}
            ) as record,
            printf('em_%013d_%d', send_id, k) as record_id, {TS.format("t")} as record_updated_at,
            'esp' as _source, 'email_events' as _stream, {LABELS}
            from q
            """,
            lo,
            hi,
        )

    # -- web events -------------------------------------------------------------
    def web_events(self, lo: int, hi: int) -> Iterator[int]:
        stream = self.w.stream("web", "events")
        first_day = max(0, (lo - START) // DAY - 4)
        batch: list[pd.DataFrame] = []
        size = 0
        for d in range(first_day, (hi - START) // DAY):
            frame = self._sessions_of_day(d, stream._kinds)
            if frame is None:
                continue
            batch.append(frame)
            size += len(frame)
            if size >= ORDER_CHUNK:
                yield self._insert_web(pd.concat(batch), lo, hi)
                batch, size = [], 0
        if batch:
            yield self._insert_web(pd.concat(batch), lo, hi)

    def _sessions_of_day(self, d: int, kinds: tuple[str, ...]) -> pd.DataFrame | None:
        """World._WebEvents.versions_created_on at the plan's sessions per person-day."""
        w = self.w
        day_start = START + d * DAY
        existing = w.persons_by(day_start)
        if not existing:
            return None
        rng = random.Random(w.h(S_SESSIONS, d))
        expected = existing * self.plan.session_rate
        sessions = max(0, round(expected + math.sqrt(expected) * rng.gauss(0.0, 1.0)))
        if not sessions:
            return None
        products = w.products_by(day_start)
        sid = np.arange(d * 1_000_000, d * 1_000_000 + sessions, dtype=np.uint64)
        x = w.h_np(S_SESSION, sid)
        t = START + d * DAY + _mod(x, DAY)
        late = _unit(_chain(x, np.uint64(1))) < 0.04
        delay = np.where(late, 6 * HOUR + _mod(_chain(x, np.uint64(2)), 66 * HOUR), 0)
        y = _chain(x, np.uint64(50))
        customer = 1 + _mod(_chain(y, np.uint64(3)), existing)
        heavy = existing // 16
        if heavy:
            buyer = 16 * (1 + _mod(_chain(y, np.uint64(2)), heavy))
            customer = np.where(_unit(_chain(y, np.uint64(1))) < 0.46, buyer, customer)
        logged_in = _unit(_chain(x, np.uint64(4))) < 0.7
        anonymous = np.where(
            logged_in,
            _chain(w.h_np(S_SESSION, customer.astype(np.uint64)), np.uint64(99)),
            _chain(x, np.uint64(98)),
        ) % np.uint64(1 << 48)
        steps = 2 + _mod(_chain(x, np.uint64(5)), 7)
        rolls, picks, gaps = (_chain(x, np.uint64(salt)) for salt in (10, 11, 12))
        in_cart = np.zeros(sessions, dtype=bool)
        frames = []
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
            live = steps > k
            pull, _ = pulled(t[live], np.full(int(live.sum()), NEVER), t[live] + delay[live])
            frames.append(
                pd.DataFrame(
                    {
                        "sid": sid[live].astype(np.int64),
                        "k": k,
                        "t": t[live],
                        "pull": pull,
                        "customer": np.where(logged_in[live], customer[live], -1),
                        "anonymous": anonymous[live].astype(np.int64),
                        "kind": kind[live],
                        "product": product[live],
                    }
                )
            )
            t = t + 5 + _mod(_chain(gaps, kk), 175)
        assert kinds == ("page_view", "product_view", "add_to_cart", "checkout_started")
        return pd.concat(frames)

    def _insert_web(self, frame: pd.DataFrame, lo: int, hi: int) -> int:
        kinds = _q(("page_view", "product_view", "add_to_cart", "checkout_started"))
        return self._insert(
            "web__events",
            frame,
            f"""
            select json_object(
                'id', printf('ev_%010d_%011d_%02d', t, sid, k),
                'anonymous_id', printf('anon_%012x', anonymous),
                'customer_id', case when customer >= 0 then customer end,
                'session_id', 's_' || cast(sid as varchar),
                'type', {kinds}[kind + 1],
                'product_id', case when product > 0 then product end,
                'url', case when product > 0 then printf('/products/SKU-%05d', product)
                    else '/' end,
                'occurred_at', {ISO.format("t")}
            ) as record,
            printf('ev_%010d_%011d_%02d', t, sid, k) as record_id,
            {TS.format("t")} as record_updated_at,
            'web' as _source, 'events' as _stream, {LABELS}
            from chunk
            """,
            lo,
            hi,
        )


__all__ = ["Generator", "Plan", "RAW_DDL", "TABLES"]


def main(argv: list[str] | None = None) -> int:
    """Generate into a warehouse file: the bench runs this in a child process."""
    import argparse
    import json
    import os
    import time

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("warehouse")
    parser.add_argument("--customers", type=int, required=True)
    parser.add_argument("--orders", type=int, required=True)
    parser.add_argument("--web-events", type=int, required=True)
    parser.add_argument("--email-events", type=int, required=True)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--as-of", required=True, help="the plan's as_of (sizes hold at it)")
    parser.add_argument("--start", help="slices ending after this (default: all history)")
    parser.add_argument("--end", required=True, help="slices ending at or before this")
    args = parser.parse_args(argv)
    plan = Plan(
        customers=args.customers,
        orders=args.orders,
        web_events=args.web_events,
        email_events=args.email_events,
        as_of=datetime.fromisoformat(args.as_of),
        seed=args.seed,
    )
    con = duckdb.connect(args.warehouse)
    limit = os.environ.get("SEGMART_DUCKDB_MEMORY_LIMIT")
    if limit:
        con.execute(f"set memory_limit = '{limit}'")
    started = time.perf_counter()
    try:
        start = datetime.fromisoformat(args.start) if args.start else None
        counts = Generator(plan, con).run(start, datetime.fromisoformat(args.end))
        con.execute("checkpoint")
    finally:
        con.close()
    # VmHWM: this process's own peak RSS (ru_maxrss would include the parent's
    # memory image inherited at fork, before exec).
    status = Path("/proc/self/status").read_text()
    peak = next((line.split()[1] for line in status.splitlines() if line.startswith("VmHWM")), "0")
    summary = {"rows": counts, "seconds": round(time.perf_counter() - started, 1)}
    print(json.dumps(summary | {"peak_rss_mib": round(int(peak) / 1024)}))
    return 0


if __name__ == "__main__":
    import sys

    sys.exit(main())
