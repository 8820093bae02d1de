"""The demo world pushes: signed shop webhooks and Segment-style tracking batches.

`python -m demo_api.pushes --url http://HOST:PORT --hours 3 ...` walks the world's clock
through the last `--hours` before `--now` a minute at a time and, at each tick, sends
what a real shop and tracker would have sent in that minute to a receiver
(`segmart collect`):

- every order and customer version that took effect in the minute, as a webhook
  (`POST /webhooks/shop`) with the topic, the delivery id and the body's HMAC-SHA256
  in Shopify's headers, signed with `SEGMART_SHOP_WEBHOOK_SECRET`;
- the minute's tracking events that the world lets be seen by then, as one
  `POST /v1/batch` with the write key `SEGMART_WEB_WRITE_KEY` (late events are never
  pushed: the tracker lost them, and the scheduled pull is the backstop).

Like the real senders, it retries a delivery that got no 2xx (5xx, 429 or no answer),
after `Retry-After`; sends some deliveries twice (at-least-once) and some out of order;
and a few tracking events lack both ids, which the receiver dead-letters. What is sent
derives from the seed, the world and the window only, so a re-run sends the same
deliveries with the same ids. The last stdout line is the counts as JSON.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import json
import os
import random
import sys
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

import requests

from demo_api.world import SCENARIOS, World, to_epoch

TICK = 60  # seconds of world time per round of sends
SECRET_VARIABLE = "SEGMART_SHOP_WEBHOOK_SECRET"
WRITE_KEY_VARIABLE = "SEGMART_WEB_WRITE_KEY"
DUPLICATE_RATE = 0.05  # deliveries sent a second time, later in the same minute
SWAP_RATE = 0.10  # neighbouring deliveries sent in the wrong order
BROKEN_EVENT_RATE = 0.01  # tracking events without userId and anonymousId
ATTEMPTS = 5
ORDER_TOPICS = {"paid": "orders/paid", "fulfilled": "orders/fulfilled"}
ORDER_TOPICS |= {"cancelled": "orders/cancelled", "refunded": "orders/updated"}


@dataclass
class PushCounts:
    webhooks: int = 0  # distinct deliveries answered 2xx
    events: int = 0  # tracking events accepted
    duplicates_sent: int = 0  # second sends of a delivery
    dead_lettered: int = 0  # events the receiver kept aside with a reason
    retries: int = 0
    failed: int = 0  # deliveries given up after every attempt


@dataclass(frozen=True)
class Webhook:
    topic: str
    delivery_id: str
    body: bytes


def delivery_id(seed: int, *parts: object) -> str:
    """A stable UUID-shaped id per delivery: a re-run re-sends the same ids."""
    digest = hashlib.sha256(":".join(map(str, (seed, *parts))).encode()).hexdigest()
    return f"{digest[:8]}-{digest[8:12]}-{digest[12:16]}-{digest[16:20]}-{digest[20:32]}"


def order_topic(order: dict) -> str:
    if order["updated_at"] == order["created_at"]:
        return "orders/create"
    return ORDER_TOPICS.get(order["status"], "orders/updated")


def customer_topic(customer: dict) -> str:
    created = customer["updated_at"] == customer["created_at"]
    return "customers/create" if created else "customers/update"


def versions(world: World, stream: str, start: int, end: int) -> Iterator[dict]:
    """The versions of shop `stream` that took effect in [start, end), each as of then."""
    for entry in world.entries("shop", stream, start, end, now=end - 1):
        yield world.build("shop", stream, entry)


def webhooks(world: World, start: int, end: int) -> list[Webhook]:
    sent = []
    for stream, topic_of in (("customers", customer_topic), ("orders", order_topic)):
        for record in versions(world, stream, start, end):
            topic = topic_of(record)
            body = json.dumps(record, separators=(",", ":")).encode()
            delivery = delivery_id(world.seed, topic, record["id"], record["updated_at"])
            sent.append(Webhook(topic, delivery, body))
    return sent


def tracking_events(world: World, start: int, end: int, rng: random.Random) -> list[dict]:
    events = []
    for entry in world.entries("web", "events", start, end, now=end - 1):
        event = world.build("web", "events", entry)
        call = {
            "type": "track",
            "event": event["type"],
            "messageId": event["id"],
            "anonymousId": event["anonymous_id"],
            "userId": None if event["customer_id"] is None else str(event["customer_id"]),
            "timestamp": event["occurred_at"],
            "properties": {
                "product_id": event["product_id"],
                "session_id": event["session_id"],
                "url": event["url"],
            },
        }
        if rng.random() < BROKEN_EVENT_RATE:
            del call["anonymousId"], call["userId"]
        events.append(call)
    return events


def at_least_once(
    deliveries: list[Webhook], rng: random.Random, counts: PushCounts
) -> list[Webhook]:
    """Some deliveries twice (later in the round), some neighbours swapped."""
    order: list[Webhook] = list(deliveries)
    for delivery in deliveries:
        if rng.random() < DUPLICATE_RATE:
            order.insert(rng.randint(order.index(delivery) + 1, len(order)), delivery)
            counts.duplicates_sent += 1
    for i in range(len(order) - 1):
        if rng.random() < SWAP_RATE:
            order[i], order[i + 1] = order[i + 1], order[i]
    return order


class Sender:
    """POSTs with the real senders' retry rule: no 2xx (and not a 4xx) is tried again."""

    def __init__(self, url: str, counts: PushCounts, attempts: int = ATTEMPTS) -> None:
        self.url = url.rstrip("/")
        self.counts = counts
        self.attempts = attempts
        self.http = requests.Session()

    def post(self, path: str, **kwargs: Any) -> requests.Response | None:
        for attempt in range(self.attempts):
            if attempt:
                self.counts.retries += 1
            try:
                answer = self.http.post(f"{self.url}{path}", timeout=30, **kwargs)
            except requests.ConnectionError:
                time.sleep(0.2 * 2**attempt)
                continue
            if answer.status_code < 500 and answer.status_code != 429:
                return answer
            time.sleep(float(answer.headers.get("Retry-After") or 0.2 * 2**attempt))
        self.counts.failed += 1
        return None


def push(
    world: World,
    url: str,
    secret: str,
    write_key: str,
    start: int,
    end: int,
    attempts: int = ATTEMPTS,
) -> PushCounts:
    counts = PushCounts()
    sender = Sender(url, counts, attempts)
    for tick in range(start, end, TICK):
        rng = random.Random(f"{world.seed}:{tick}")
        delivered: set[str] = set()
        for hook in at_least_once(webhooks(world, tick, tick + TICK), rng, counts):
            signature = base64.b64encode(
                hmac.new(secret.encode(), hook.body, hashlib.sha256).digest()
            ).decode()
            headers = {
                "Content-Type": "application/json",
                "X-Shopify-Topic": hook.topic,
                "X-Shopify-Hmac-Sha256": signature,
                "X-Shopify-Webhook-Id": hook.delivery_id,
            }
            answer = sender.post("/webhooks/shop", data=hook.body, headers=headers)
            if answer is not None and answer.ok:
                delivered.add(hook.delivery_id)
        counts.webhooks += len(delivered)
        events = tracking_events(world, tick, tick + TICK, rng)
        if events:
            answer = sender.post("/v1/batch", json={"batch": events}, auth=(write_key, ""))
            # A 400 for some schema-invalid events kept the others (not retried, as Segment).
            dead = (
                answer.json().get("dead_lettered", 0) if answer is not None and not answer.ok else 0
            )
            if answer is not None and (answer.ok or dead):
                counts.events += len(events) - dead
                counts.dead_lettered += dead
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True, help="the receiver, e.g. http://127.0.0.1:8766")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--customers", type=int, default=5000)
    parser.add_argument("--scenario", choices=SCENARIOS, default="clean")
    parser.add_argument("--now", required=True, help="the end of the pushed hours (ISO 8601)")
    parser.add_argument("--hours", type=float, default=3.0, help="hours before --now to push")
    parser.add_argument("--attempts", type=int, default=ATTEMPTS, help="sends per delivery")
    parser.add_argument("--rate-limit", help="ignored (the demo API's flag, passed through)")
    args = parser.parse_args(argv)
    missing = [name for name in (SECRET_VARIABLE, WRITE_KEY_VARIABLE) if not os.environ.get(name)]
    if missing:
        print(f"demo pushes: set {', '.join(missing)}", file=sys.stderr)
        return 2
    world = World(seed=args.seed, customers=args.customers, scenario=args.scenario, now=args.now)
    end = to_epoch(datetime.fromisoformat(args.now.replace("Z", "+00:00")))
    assert end is not None
    start = end - int(args.hours * 3600)
    secret, write_key = os.environ[SECRET_VARIABLE], os.environ[WRITE_KEY_VARIABLE]
    counts = push(world, args.url, secret, write_key, start, end, args.attempts)
    print(json.dumps(asdict(counts)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
