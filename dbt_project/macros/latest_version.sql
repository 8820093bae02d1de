{#-
  The latest raw version of each record (by record_updated_at, then
  _extracted_at) among the raw rows matching `where`. The ranking reads only
  the plain key columns; the winners are then fetched by row id, so each
  surviving record's JSON is read once and no losing version is parsed or
  carried through the window (at 20M order rows: half the staging time).
  `relation` must be the raw table itself, not a CTE over it: row ids belong
  to tables. Unit tests, whose inputs are CTEs, override raw_row_id.
-#}
{% macro latest_raw_version(relation, where='true') -%}
    {{ latest_version(relation, 'record_id', 'record_updated_at', where) }}
{%- endmacro %}

{#- The same for any table with a key, an update time and _extracted_at. -#}
{% macro latest_version(relation, key, updated_at, where='true') -%}
    select * from {{ relation }}
    where
        {{ where }}
        and {{ raw_row_id() }} in (
            select version_row_id from (
                select
                    {{ raw_row_id() }} as version_row_id,
                    row_number() over (
                        partition by {{ key }}
                        order by {{ updated_at }} desc, _extracted_at desc
                    ) as version_rank
                from {{ relation }}
                where {{ where }}
            ) as versions
            where version_rank = 1
        )
{%- endmacro %}

{#- A table row's physical id, unique within the table. -#}
{% macro raw_row_id() -%}
    {{ return(adapter.dispatch('raw_row_id', 'segmart')()) }}
{%- endmacro %}

{% macro default__raw_row_id() -%}
    {{ exceptions.raise_compiler_error("raw_row_id: no implementation for adapter " ~ adapter.type() ~ "; add " ~ adapter.type() ~ "__raw_row_id in macros/latest_version.sql") }}
{%- endmacro %}

{% macro duckdb__raw_row_id() -%}
    rowid
{%- endmacro %}
