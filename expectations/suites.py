"""The quality gate's suites, as code reviewed like code.

A suite is one DuckDB query (the batch) plus GX expectations over its columns.
Checks that span tables (consent, RFM cell, volume, row-count band) are shaped
into columns by the query, so GX still decides every expectation and Data Docs
show them all. Each expectation carries `meta.check` (a stable name) and
`meta.severity`: `critical` blocks the publish, `warning` is recorded and shown.

Nothing here knows a source: raw suites are built from each stream's
`StreamGate` (declared beside the stream in its YAML), and the marts suites take
the project's rule segments, identity sources and RFM map seed as arguments.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from segmart.core.contracts import (
    MARTS_SCHEMA,
    PUBLISHED_TABLES,
    FieldCheck,
    FieldRule,
    Severity,
    StreamGate,
)
from segmart.core.sql import json_path

CRITICAL = Severity.CRITICAL
WARNING = Severity.WARNING

EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
# Published tables' rows against the last published version.
ROW_COUNT_BAND = (0.5, 2.0)
# The customer_rfm checks that read the RFM map seed.
RFM_MAP_CHECKS = (
    "rfm_segment_in_map",
    "rfm_cell_in_exactly_one_segment",
    "rfm_segment_matches_map",
)


@dataclass(frozen=True)
class Check:
    name: str
    severity: Severity
    # Built lazily: importing GX costs seconds, and only the gate needs it.
    build: Callable[[], Any] = field(repr=False)
    description: str = ""

    def expectation(self) -> Any:
        expectation = self.build()
        expectation.meta = {
            "check": self.name,
            "severity": str(self.severity),
            "description": self.description,
        }
        return expectation


@dataclass(frozen=True)
class Suite:
    name: str
    sql: str
    params: tuple[Any, ...] = ()
    checks: tuple[Check, ...] = ()
    # Column that names a failing row in examples (record id, customer id, table).
    key: str | None = None
    # Set when the suite cannot be evaluated at all: every check is "could not evaluate".
    unavailable: str | None = None


@dataclass(frozen=True)
class RfmMap:
    """The analyst-editable RFM map seed as dbt loaded it into marts, or why it is not there."""

    table: str | None
    segments: tuple[str, ...] = ()
    missing: str | None = None


def _gxe() -> Any:
    import great_expectations.expectations as gxe

    return gxe


def not_null(column: str) -> Callable[[], Any]:
    return lambda: _gxe().ExpectColumnValuesToNotBeNull(column=column)


def unique(column: str) -> Callable[[], Any]:
    return lambda: _gxe().ExpectColumnValuesToBeUnique(column=column)


def compound_unique(*columns: str) -> Callable[[], Any]:
    return lambda: _gxe().ExpectCompoundColumnsToBeUnique(column_list=list(columns))


def between(column: str, low: float | None, high: float | None) -> Callable[[], Any]:
    return lambda: _gxe().ExpectColumnValuesToBeBetween(
        column=column, min_value=low, max_value=high
    )


def in_set(column: str, values: Sequence[Any]) -> Callable[[], Any]:
    return lambda: _gxe().ExpectColumnValuesToBeInSet(column=column, value_set=list(values))


def is_true(column: str) -> Callable[[], Any]:
    return in_set(column, [True])


def matches(column: str, pattern: str) -> Callable[[], Any]:
    return lambda: _gxe().ExpectColumnValuesToMatchRegex(column=column, regex=pattern)


def pair_equal(column_a: str, column_b: str) -> Callable[[], Any]:
    return lambda: _gxe().ExpectColumnPairValuesToBeEqual(column_A=column_a, column_B=column_b)


# --- raw: the slices waiting for the gate -------------------------------------------------


def quoted(column: str) -> str:
    return '"' + column.replace('"', '""') + '"'


def _free_name(wanted: str, taken: set[str]) -> str:
    while wanted in taken:
        wanted = f"field_{wanted}"
    taken.add(wanted)
    return wanted


def field_columns(checks: Sequence[FieldCheck], taken: set[str]) -> tuple[list[str], list[Check]]:
    """Select-list columns and GX checks for a stream's declared field checks.

    A field with a decimal or minimum rule becomes a decimal column named after
    the field (its text beside it as `<field>_text`); any other field is its text.
    Failing rows in examples then show the field by its own name.
    """
    numeric_rules = (FieldRule.DECIMAL, FieldRule.MINIMUM)
    fields_in_order = list(dict.fromkeys(c.field for c in checks))
    columns: list[str] = []
    value_column: dict[str, str] = {}
    text_column: dict[str, str] = {}
    for name in fields_in_order:
        text = f"json_extract_string(record, {json_path(name)})"
        if any(c.field == name and c.rule in numeric_rules for c in checks):
            text_column[name] = _free_name(f"{name}_text", taken)
            value_column[name] = _free_name(name, taken)
            columns.append(f"{text} as {quoted(text_column[name])}")
            columns.append(f"try_cast({text} as decimal(18, 2)) as {quoted(value_column[name])}")
        else:
            text_column[name] = value_column[name] = _free_name(name, taken)
            columns.append(f"{text} as {quoted(text_column[name])}")
    built = []
    for check in checks:
        if check.rule is FieldRule.PRESENT:
            expectation = not_null(text_column[check.field])
        elif check.rule is FieldRule.DECIMAL:
            expectation = not_null(value_column[check.field])
        else:
            expectation = between(value_column[check.field], check.value, None)
        built.append(Check(check.name, check.severity, expectation, check.description))
    return columns, built


def raw_suites(gate: StreamGate, intervals: Sequence[tuple[datetime, datetime]]) -> list[Suite]:
    """Suites over the rows of one stream's (interval) slices waiting for the raw gate.

    One suite per stream however many slices wait (a first run may load hundreds),
    so GX runs a handful of validations, not thousands.
    """
    source, stream, table = gate.source, gate.stream, gate.table
    intervals = sorted(set(intervals))
    values = ", ".join("(cast(? as timestamp), cast(? as timestamp))" for _ in intervals)
    interval_params = tuple(value for pair in intervals for value in pair)
    tolerance_seconds = int(gate.time_tolerance.total_seconds())
    slices = f"""
        slices(interval_start, interval_end) as (values {values}),
        windows as (
            select
                slices.interval_start,
                slices.interval_end,
                coalesce(min(runs.window_start), slices.interval_start)
                    - interval {tolerance_seconds} second as earliest,
                coalesce(max(runs.window_end), slices.interval_end) as latest
            from slices
            left join meta.extract_runs as runs
                on runs.source = ? and runs.stream = ?
                and runs.interval_start = slices.interval_start
                and runs.interval_end = slices.interval_end
            group by slices.interval_start, slices.interval_end
        )
    """
    checks = [
        Check("record_id_present", CRITICAL, not_null("record_id"), "every record has an id"),
        Check(
            "record_time_present",
            CRITICAL,
            not_null("record_updated_at"),
            "every record has its time field",
        ),
        Check(
            "record_time_in_window",
            CRITICAL,
            is_true("in_window"),
            "record time inside the pulled window plus lookback",
        ),
    ]
    taken = {"record_id", "record_updated_at", "in_window"}
    if gate.email_field:
        taken.add("email")
    columns, field_checks = field_columns(gate.checks, taken)
    checks += field_checks
    if gate.email_field:
        email = f"json_extract_string(record, {json_path(gate.email_field)})"
        columns.append(f"nullif(trim({email}), '') as email")
        checks.append(
            Check(
                "email_well_formed_or_null",
                WARNING,
                matches("email", EMAIL_PATTERN),
                "email is local@domain.tld without spaces, or missing",
            )
        )
    extra_columns = "".join(f",\n                {column}" for column in columns)
    rows = Suite(
        name=table,
        sql=f"""
            with {slices}
            select
                raw.record_id,
                raw.record_updated_at,
                coalesce(
                    raw.record_updated_at between windows.earliest and windows.latest, false
                ) as in_window{extra_columns}
            from {table} as raw
            join windows
                on raw._interval_start = windows.interval_start
                and raw._interval_end = windows.interval_end
        """,
        params=(*interval_params, source, stream),
        checks=tuple(checks),
        key="record_id",
    )
    low, high = (float(bound) for bound in gate.volume_band)
    volume = Suite(
        name=f"{table}.volume",
        sql=f"""
            with {slices},
            loads as (
                select interval_start, interval_end, arg_max(records, finished_at) as records
                from meta.extract_runs
                where source = ? and stream = ? and status = 'success'
                group by all
            ),
            rated as (
                select *,
                    records / greatest(epoch(interval_end - interval_start) / 3600.0, 1.0)
                        as per_hour
                from loads
            ),
            compared as (
                select *,
                    avg(per_hour) over earlier as trailing_per_hour,
                    count(*) over earlier as earlier_slices
                from rated
                window earlier as (
                    order by interval_start rows between 24 preceding and 1 preceding
                )
            )
            select
                compared.interval_start,
                compared.records,
                compared.earlier_slices,
                compared.trailing_per_hour,
                case
                    when compared.earlier_slices < {int(gate.volume_min_earlier_slices)}
                        or coalesce(compared.trailing_per_hour, 0) = 0 then 1.0
                    else compared.per_hour / compared.trailing_per_hour
                end as volume_ratio
            from compared
            join slices using (interval_start, interval_end)
        """,
        params=(*interval_params, source, stream, source, stream),
        key="interval_start",
        checks=(
            Check(
                "volume_vs_trailing_average",
                WARNING,
                between("volume_ratio", low, high),
                f"records per hour within {low}x-{high}x of the trailing average",
            ),
        ),
    )
    return [rows, volume]


# --- marts: the audit zone ------------------------------------------------------------------


def _rfm_map_columns(table: str) -> str:
    """The map's segment for each row's (R, F) cell and how many cells matched."""
    lookup = (
        f"from {MARTS_SCHEMA}.{quoted(table)} as cell "
        "where cell.r_score = rfm.r_score and cell.f_score = rfm.f_score"
    )
    return (
        f"(select min(cell.segment) {lookup}) as map_segment, "
        f"(select count(*) {lookup}) as map_cells"
    )


def rfm_suites(as_of: datetime, rfm_map: RfmMap) -> list[Suite]:
    """customer_rfm's checks; those that read the map cannot be evaluated without the seed."""
    m = MARTS_SCHEMA
    checks = (
        Check("customer_id_present", CRITICAL, not_null("customer_id")),
        Check(
            "one_row_per_scored_customer",
            CRITICAL,
            unique("customer_id"),
            "each scored customer in exactly one RFM segment",
        ),
        Check("r_score_1_to_5", CRITICAL, between("r_score", 1, 5)),
        Check("f_score_1_to_5", CRITICAL, between("f_score", 1, 5)),
        Check("m_score_1_to_5", CRITICAL, between("m_score", 1, 5)),
        Check("rfm_segment_present", CRITICAL, not_null("rfm_segment")),
        Check("rfm_segment_in_map", CRITICAL, in_set("rfm_segment", list(rfm_map.segments))),
        Check(
            "rfm_cell_in_exactly_one_segment",
            CRITICAL,
            in_set("map_cells", [1]),
            "the map gives each scored (R, F) cell exactly one segment",
        ),
        Check(
            "rfm_segment_matches_map",
            CRITICAL,
            pair_equal("rfm_segment", "map_segment"),
            "segment is the map's cell for (R, F)",
        ),
        Check("as_of_is_run_as_of", WARNING, is_true("as_of_matches")),
    )
    map_columns = "" if rfm_map.table is None else f"{_rfm_map_columns(rfm_map.table)},"
    scored = Suite(
        name="marts.customer_rfm",
        key="customer_id",
        sql=f"""
            select
                customer_id, r_score, f_score, m_score, rfm_segment,
                {map_columns}
                coalesce(cast(as_of as timestamp) = ?, false) as as_of_matches
            from {m}.customer_rfm as rfm
        """,
        params=(as_of,),
        checks=checks,
    )
    if rfm_map.table is not None:
        return [scored]
    by_map = tuple(c for c in checks if c.name in RFM_MAP_CHECKS)
    without_map = tuple(c for c in checks if c.name not in RFM_MAP_CHECKS)
    return [
        Suite(scored.name, scored.sql, scored.params, without_map, scored.key),
        Suite(
            scored.name,
            sql="",
            checks=by_map,
            unavailable=rfm_map.missing or "the RFM map seed is not in marts",
        ),
    ]


def marts_suites(
    as_of: datetime,
    *,
    rule_segments: Sequence[str],
    identity_sources: Sequence[str],
    rfm_map: RfmMap,
    published_counts: Mapping[str, int] | None = None,
) -> list[Suite]:
    """Suites over the dbt-built `marts` tables for one `as_of`."""
    m = MARTS_SCHEMA
    suites = [
        Suite(
            name="marts.customer_profiles",
            key="customer_id",
            sql=f"select customer_id from {m}.customer_profiles",
            checks=(
                Check("customer_id_present", CRITICAL, not_null("customer_id")),
                Check("customer_id_unique", CRITICAL, unique("customer_id")),
            ),
        ),
        Suite(
            name="marts.customer_identity",
            key="customer_id",
            sql=f"select customer_id, source, source_customer_id from {m}.customer_identity",
            checks=(
                Check("customer_id_present", CRITICAL, not_null("customer_id")),
                Check("source_record_present", CRITICAL, not_null("source_customer_id")),
                Check("source_known", CRITICAL, in_set("source", list(identity_sources))),
                Check(
                    "source_record_unique",
                    CRITICAL,
                    compound_unique("source", "source_customer_id"),
                    "each source record belongs to one customer",
                ),
            ),
        ),
        *rfm_suites(as_of, rfm_map),
        Suite(
            name="marts.customer_segments",
            key="customer_id",
            sql=f"""
                select customer_id, segment,
                    coalesce(cast(as_of as timestamp) = ?, false) as as_of_matches
                from {m}.customer_segments
            """,
            params=(as_of,),
            checks=(
                Check("customer_id_present", CRITICAL, not_null("customer_id")),
                Check(
                    "customer_segment_unique", CRITICAL, compound_unique("customer_id", "segment")
                ),
                Check(
                    "segment_known",
                    WARNING,
                    in_set("segment", list(rule_segments)),
                    "segment is one of the project's rule segments",
                ),
                Check("as_of_is_run_as_of", WARNING, is_true("as_of_matches")),
            ),
        ),
        Suite(
            name="marts.segment_changes",
            key="customer_id",
            sql=f"select customer_id, segment, change from {m}.segment_changes",
            checks=(
                Check("customer_id_present", CRITICAL, not_null("customer_id")),
                Check(
                    "change_is_entered_or_exited", CRITICAL, in_set("change", ["entered", "exited"])
                ),
            ),
        ),
        Suite(
            name="marts.email_audience",
            key="customer_id",
            sql=f"""
                select audience.customer_id, audience.segment, audience.email,
                    coalesce(profiles.email_consent, false) as consented
                from {m}.email_audience as audience
                left join {m}.customer_profiles as profiles using (customer_id)
            """,
            checks=(
                Check("customer_id_present", CRITICAL, not_null("customer_id")),
                Check("email_present", CRITICAL, not_null("email")),
                Check(
                    "only_consented_customers",
                    CRITICAL,
                    is_true("consented"),
                    "consent true at as_of for every audience member",
                ),
                Check(
                    "customer_segment_unique", CRITICAL, compound_unique("customer_id", "segment")
                ),
            ),
        ),
    ]
    suites.append(row_count_suite(published_counts or {}))
    return suites


def row_count_suite(published_counts: Mapping[str, int]) -> Suite:
    """Each table's rows against the last published version (1.0 when nothing is published)."""
    m = MARTS_SCHEMA
    low, high = ROW_COUNT_BAND
    selects = []
    params: list[Any] = []
    for table in PUBLISHED_TABLES:
        previous = published_counts.get(table)
        selects.append(
            f"select ? as table_name, count(*) as marts_rows, "
            f"cast(? as bigint) as published_rows from {m}.{table}"
        )
        params += [table, previous]
    return Suite(
        name="marts.row_counts",
        sql=f"""
            with counts as ({" union all ".join(selects)})
            select table_name, marts_rows, published_rows,
                case when coalesce(published_rows, 0) = 0 then 1.0
                     else marts_rows / published_rows end as ratio_to_published,
                table_name <> 'customer_profiles' or marts_rows > 0 as has_rows
            from counts
        """,
        params=tuple(params),
        checks=(
            Check(
                "profiles_not_empty", CRITICAL, is_true("has_rows"), "customer_profiles has rows"
            ),
            Check(
                "row_count_within_band_of_published",
                WARNING,
                between("ratio_to_published", low, high),
                f"rows within {low}x-{high}x of the last published version",
            ),
        ),
    )
