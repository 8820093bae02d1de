"""One run at a time from dbt to publish: a lease on the marts, kept in `meta.marts_lease`.

Airflow's one-slot `segmart_warehouse` pool serialises tasks, not runs: a backfill
beside the schedule could rebuild the marts for its `as_of` between another run's
gate and publish. A run therefore claims the lease before dbt and releases it
after publish (pass or fail); another run waits for it. A holder that is no
longer running (a crashed worker, a run marked failed in the UI) is taken over,
so a lease can never wedge the pipeline. The claim is one transaction in the
warehouse, so two runs can never both hold it.

A held lease is visible to anyone: `select * from meta.marts_lease`. A holder is
named `<tool>:<the tool's id of its run>` (e.g. `airflow:segmart_pipeline:<run_id>`),
so whoever claims next knows which tool to ask whether that run is still going.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import duckdb

from segmart.core import warehouse
from segmart.core.settings import Settings
from segmart.core.times import naive_utc_or_none, now_naive

log = logging.getLogger(__name__)

LEASE_DDL = """
create table if not exists meta.marts_lease (
    holder      varchar   not null,  -- e.g. airflow:segmart_pipeline:<run_id>
    as_of       timestamp,
    claimed_at  timestamp not null
)
"""


HOLDER_SEPARATOR = ":"


def holder_name(tool: str, *run: str) -> str:
    """`<tool>:<run>...`: the tool first, so a later claim knows whom to ask about it."""
    if not tool or HOLDER_SEPARATOR in tool:
        raise ValueError(f"a lease holder's tool is a name without {HOLDER_SEPARATOR!r}: {tool!r}")
    return HOLDER_SEPARATOR.join((tool, *run))


def holder_tool(holder: str) -> tuple[str, str]:
    """(tool, the rest) of a holder name; the rest is the tool's own id of its run."""
    tool, _, rest = holder.partition(HOLDER_SEPARATOR)
    return tool, rest


@dataclass(frozen=True)
class Lease:
    holder: str
    as_of: datetime | None
    claimed_at: datetime

    def describe(self) -> str:
        return f"{self.holder} (as_of {self.as_of}, since {self.claimed_at:%Y-%m-%d %H:%M:%S} UTC)"


def claim(
    settings: Settings,
    holder: str,
    as_of: datetime | None,
    is_active: Callable[[str], bool],
) -> Lease | None:
    """Take the lease for `holder`; returns None when taken (or already held by
    `holder`), else the other, still active, holder it must wait for.

    `is_active(holder)` says whether a recorded holder's run is still going; it is
    only asked about other holders.
    """
    con = warehouse.connect(settings.warehouse)
    try:
        con.execute(LEASE_DDL)
        # One transaction on a file only one process can open for writing: no other
        # claim can slip in between the check and the write.
        con.execute("begin transaction")
        current = _current(con)
        if current is not None and current.holder != holder and is_active(current.holder):
            con.execute("rollback")
            return current
        if current is not None and current.holder != holder:
            log.warning("taking over the marts lease of %s: that run is over", current.describe())
        con.execute("delete from meta.marts_lease")
        con.execute(
            "insert into meta.marts_lease values (?, ?, ?)",
            [holder, naive_utc_or_none(as_of), now_naive()],
        )
        con.execute("commit")
        return None
    finally:
        con.close()


def release(settings: Settings, holder: str) -> bool:
    """Give the lease back; False when `holder` did not hold it (already taken over)."""
    con = warehouse.connect(settings.warehouse)
    try:
        con.execute(LEASE_DDL)
        removed = con.execute(
            "delete from meta.marts_lease where holder = ? returning holder", [holder]
        ).fetchall()
        return bool(removed)
    finally:
        con.close()


def current(settings: Settings) -> Lease | None:
    con = warehouse.connect(settings.warehouse)
    try:
        con.execute(LEASE_DDL)
        return _current(con)
    finally:
        con.close()


def _current(con: duckdb.DuckDBPyConnection) -> Lease | None:
    row = con.execute("select holder, as_of, claimed_at from meta.marts_lease").fetchone()
    return Lease(*row) if row else None
