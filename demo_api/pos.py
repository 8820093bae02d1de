"""Demo till exports: point-of-sale purchases of the demo world's people, as CSV files.

One file per day, `purchases/purchases-<day>.csv`, as a till system would drop
them (extract/sources/pos.yaml reads them). The buyers are the world's people,
with the email as they give it at the till (the world's spelling variants, or
none), so their purchases join their shop orders and CRM contact by canonical
email. Deterministic: the same world and day give the same bytes, so a re-run of
the demo finds every file loaded already.
"""

from __future__ import annotations

import argparse
import csv
import io
import os
from pathlib import Path

from demo_api.world import DAY, S_CREATED, START, World, iso

COLUMNS = ("purchase_id", "store_id", "email", "total", "currency", "purchased_at")
STORES = ("berlin-mitte", "hamburg-altona", "munich-center")
_TILL = 0x7111  # separates the tills' hashes from the world's own
_TILL_SALT = 11  # the tills' spelling of an email (a source salt of email_variant)
OPEN_HOURS = (8, 20)


def purchases_on(world: World, day: int) -> list[dict[str, str]]:
    """The tills' purchases of day `day` (days since the world's start) before its now."""
    day_start = START + day * DAY
    count = max(3, world.customers // 100)
    rows = []
    for k in range(count):
        opened, closed = (hour * 3600 for hour in OPEN_HOURS)
        moment = day_start + opened + world.h(S_CREATED, _TILL, day, k, 1) % (closed - opened)
        existing = world.persons_by(moment)
        if moment >= world.now() or existing == 0:
            continue
        person = world.pick_customer(existing, S_CREATED, _TILL, day, k)
        gives_email = world.has_email(person) and world.u(S_CREATED, _TILL, day, k, 2) < 0.8
        email = world.email_variant(person, _TILL_SALT) if gives_email else ""
        cents = 300 + world.h(S_CREATED, _TILL, day, k, 3) % 15_000
        rows.append(
            {
                "purchase_id": f"{iso(day_start)[:10].replace('-', '')}-{k:04d}",
                "store_id": STORES[world.h(S_CREATED, _TILL, day, k, 4) % len(STORES)],
                "email": email or "",
                "total": f"{cents // 100}.{cents % 100:02d}",
                "currency": "EUR",
                "purchased_at": iso(moment),
            }
        )
    return sorted(rows, key=lambda row: (row["purchased_at"], row["purchase_id"]))


def write_till_exports(world: World, folder: Path, days: int = 3) -> list[Path]:
    """The last `days` whole days before the world's now, one CSV file each, into
    `folder/purchases/`; each is written under a hidden name and renamed, as a till
    export should be, so a loader never sees half a file."""
    target = folder / "purchases"
    target.mkdir(parents=True, exist_ok=True)
    today = (world.now() - START) // DAY
    written = []
    for day in range(today - days, today):
        path = target / f"purchases-{iso(START + day * DAY)[:10]}.csv"
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(purchases_on(world, day))
        partial = path.with_name(f".{path.name}.partial")
        partial.write_text(buffer.getvalue(), encoding="utf-8")
        os.replace(partial, path)
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    """`python -m demo_api.pos --seed 7 --customers 2000 --now ISO --folder DIR`."""
    parser = argparse.ArgumentParser(prog="python -m demo_api.pos", description=__doc__)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--customers", type=int, default=5000)
    parser.add_argument("--scenario", default="clean")
    parser.add_argument("--now", help="the world's frozen clock (ISO 8601); default: now")
    parser.add_argument("--days", type=int, default=3, help="whole days before now, one file each")
    parser.add_argument("--folder", type=Path, required=True, help="the pos drop folder")
    args, _ = parser.parse_known_args(argv)  # the demo API's other flags are not the tills'
    world = World(args.seed, args.customers, args.scenario, args.now)
    written = write_till_exports(world, args.folder, args.days)
    print(f"till exports: {len(written)} CSV files in {args.folder / 'purchases'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
