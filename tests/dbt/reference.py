"""DESIGN.md "Definitions" computed in plain Python, straight from API records.

Written from the definitions, not from the dbt SQL: the end-to-end test holds
the marts to 100% agreement with this. Input: the records each stream served
(lists of dicts, as the API returns them).
"""

from __future__ import annotations

import hashlib
import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

VALID_EMAIL = re.compile(r"[^\s@]+@[^\s@]+\.[^\s@]+")
GMAIL_DOMAINS = ("gmail.com", "googlemail.com")

# DESIGN.md's grid: (segment, R values, F values).
RFM_GRID = [
    ("Champions", {5}, {4, 5}),
    ("Loyal Customers", {3, 4}, {4, 5}),
    ("Potential Loyalist", {4, 5}, {2, 3}),
    ("New Customers", {5}, {1}),
    ("Promising", {4}, {1}),
    ("Need Attention", {3}, {3}),
    ("About To Sleep", {3}, {1, 2}),
    ("At Risk", {1, 2}, {3, 4}),
    ("Can't Lose Them", {1, 2}, {5}),
    ("Hibernating", {1, 2}, {1, 2}),
]


def ts(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).replace(tzinfo=None)


def canonical_email(raw: str | None) -> str | None:
    if raw is None:
        return None
    email = raw.strip().lower()
    if not VALID_EMAIL.fullmatch(email):
        return None
    local, domain = email.split("@")
    if domain in GMAIL_DOMAINS:
        local = local.split("+", 1)[0].replace(".", "")
    return f"{local}@{domain}"


def customer_id(source: str, record_id: str, email: str | None) -> str:
    """The documented stable id: md5 of 'email:<canonical>' or '<source>:<id>'."""
    canonical = canonical_email(email)
    key = f"email:{canonical}" if canonical else f"{source}:{record_id}"
    return hashlib.md5(key.encode()).hexdigest()


def latest(records: list[dict], time_field: str = "updated_at") -> dict[str, dict]:
    by_id: dict[str, dict] = {}
    for record in records:
        key = str(record["id"])
        if key not in by_id or ts(record[time_field]) >= ts(by_id[key][time_field]):
            by_id[key] = record
    return by_id


def rfm_segment(r: int, f: int) -> str:
    (name,) = [name for name, rs, fs in RFM_GRID if r in rs and f in fs]
    return name


def score(rank: int, n: int) -> int:
    return 1 if n == 1 else min(5, 1 + (5 * (rank - 1)) // (n - 1))


@dataclass
class Reference:
    rfm: dict[str, dict] = field(default_factory=dict)
    segments: dict[str, set[str]] = field(default_factory=dict)
    consent: dict[str, bool] = field(default_factory=dict)
    emails: dict[str, str] = field(default_factory=dict)


def compute(streams: dict[tuple[str, str], list[dict]], as_of: datetime) -> Reference:
    shop_customers = latest(streams[("shop", "customers")])
    contacts = streams[("crm", "contacts")]
    latest_contacts = latest(contacts)
    orders = latest(streams[("shop", "orders")])
    email_events = latest(streams[("esp", "email_events")], "occurred_at")
    web_events = latest(streams[("web", "events")], "occurred_at")
    day = timedelta(days=1)

    shop_owner = {
        sid: customer_id("shop", sid, c.get("email")) for sid, c in shop_customers.items()
    }
    crm_owner = {cid: customer_id("crm", cid, c.get("email")) for cid, c in latest_contacts.items()}

    def owner_of_shop_id(value: object) -> str | None:
        return None if value is None else shop_owner.get(str(value))

    qualifying: dict[str, list[tuple[datetime, Decimal]]] = defaultdict(list)
    for order in orders.values():
        owner = owner_of_shop_id(order.get("customer_id"))
        created = ts(order["created_at"])
        if owner and order["status"].lower() in ("paid", "fulfilled") and created < as_of:
            qualifying[owner].append((created, Decimal(order["total"])))

    def orders_between(owner: str, start: datetime, end: datetime) -> int:
        return sum(1 for created, _ in qualifying.get(owner, []) if start <= created < end)

    # RFM over qualifying orders in [as_of - 365 days, as_of).
    values = {}
    for owner, owned in qualifying.items():
        window = [(c, t) for c, t in owned if as_of - 365 * day <= c < as_of]
        if window:
            last = max(c for c, _ in window)
            values[owner] = {
                "recency_days": (as_of - last) // day,
                "frequency": len(window),
                "monetary": sum(t for _, t in window),
            }
    n = len(values)
    ref = Reference()
    for owner, v in values.items():
        r_rank = 1 + sum(1 for o in values.values() if o["recency_days"] > v["recency_days"])
        f_rank = 1 + sum(1 for o in values.values() if o["frequency"] < v["frequency"])
        m_rank = 1 + sum(1 for o in values.values() if o["monetary"] < v["monetary"])
        r, f, m = score(r_rank, n), score(f_rank, n), score(m_rank, n)
        ref.rfm[owner] = {**v, "r_score": r, "f_score": f, "m_score": m}
        ref.rfm[owner]["rfm_segment"] = rfm_segment(r, f)

    # Consent: latest of CRM consent changes and ESP unsubscribes before as_of;
    # an unsubscribe wins a tie; no event means no consent.
    events: dict[str, list[tuple[datetime, int, bool]]] = defaultdict(list)
    versions: dict[str, list[dict]] = defaultdict(list)
    for contact in contacts:
        versions[str(contact["id"])].append(contact)
    for cid, history in versions.items():
        previous = None
        for version in sorted(history, key=lambda c: ts(c["updated_at"])):
            consent = version.get("email_consent")
            if consent is not None and consent != previous:
                events[crm_owner[cid]].append((ts(version["updated_at"]), 1, bool(consent)))
            previous = consent if consent is not None else previous
    opens: dict[str, int] = defaultdict(int)
    for event in email_events.values():
        email = canonical_email(event.get("email"))
        if not email:
            continue
        owner = customer_id("esp", email, email)
        occurred = ts(event["occurred_at"])
        if event["type"] == "unsubscribe":
            events[owner].append((occurred, 0, False))
        if event["type"] == "open" and as_of - 30 * day <= occurred < as_of:
            opens[owner] += 1
    all_customers = set(shop_owner.values()) | set(crm_owner.values())
    all_customers |= {
        customer_id("esp", e, e)
        for e in (canonical_email(x.get("email")) for x in email_events.values())
        if e
    }
    for owner in all_customers:
        before = [e for e in events.get(owner, []) if e[0] < as_of]
        ref.consent[owner] = max(before, key=lambda e: (e[0], -e[1]))[2] if before else False

    segments: dict[str, set[str]] = {}
    segments["frequent_buyers"] = {
        o for o in qualifying if orders_between(o, as_of - 30 * day, as_of) >= 4
    }
    segments["lapsed_customers"] = {
        o for o in qualifying if orders_between(o, as_of - 60 * day, as_of) == 0
    }
    segments["engaged_browsers"] = {
        o
        for o, count in opens.items()
        if count > 3 and not orders_between(o, as_of - 30 * day, as_of)
    }
    abandoners = set()
    for event in web_events.values():
        owner = owner_of_shop_id(event.get("customer_id"))
        added = ts(event["occurred_at"])
        in_window = as_of - 7 * day <= added < as_of
        if owner and event["type"] == "add_to_cart" and in_window:
            bought = orders_between(owner, added, added + timedelta(hours=24))
            if not bought:
                abandoners.add(owner)
    segments["cart_abandoners"] = abandoners
    monetary = [v["monetary"] for v in values.values()]
    segments["high_value"] = {
        o for o, v in values.items() if 10 * sum(1 for m in monetary if m <= v["monetary"]) >= 9 * n
    }
    signups: dict[str, datetime] = {}
    for cid, contact in latest_contacts.items():
        owner, signup = crm_owner[cid], contact.get("signup_at")
        if signup and (owner not in signups or ts(signup) < signups[owner]):
            signups[owner] = ts(signup)
    segments["new_subscribers"] = {
        o for o, s in signups.items() if as_of - 30 * day <= s < as_of and ref.consent[o]
    }
    ref.segments = segments

    # A customer with a valid email anywhere is keyed by it: that is its address.
    records = [*shop_customers.values(), *latest_contacts.values(), *email_events.values()]
    for record in records:
        email = canonical_email(record.get("email"))
        if email:
            ref.emails[customer_id("esp", email, email)] = email
    return ref
