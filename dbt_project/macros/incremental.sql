{#-
  The newest _extracted_at already in an incremental model, as a SQL literal:
  the filter `_extracted_at >= <literal>` lets the engine skip old raw data by
  its min/max statistics, where a subquery would scan every raw row.
-#}
{% macro extracted_watermark() -%}
    {%- if execute and is_incremental() -%}
        {%- set query = "select cast(max(_extracted_at) as varchar) from " ~ this -%}
        {%- set value = run_query(query).columns[0].values()[0] -%}
        {{ return("cast('" ~ (value or '1900-01-01 00:00:00') ~ "' as timestamp)") }}
    {%- endif -%}
    {{ return("cast('1900-01-01 00:00:00' as timestamp)") }}
{%- endmacro %}

{#-
  The raw rows a staging build reads: the latest version per record among all
  raw rows on a full refresh, among the rows extracted since the last build
  on an incremental one (macros/latest_version.sql).
-#}
{% macro raw_rows_to_stage(relation) -%}
    {%- if is_incremental() -%}
        {{ latest_raw_version(relation, where='_extracted_at >= ' ~ extracted_watermark()) }}
    {%- else -%}
        {{ latest_raw_version(relation) }}
    {%- endif -%}
{%- endmacro %}

{#-
  The latest version per `key` of the rows just staged (`new_rows`, a CTE)
  and, on an incremental build, the row kept so far for the same key, so an
  incremental build keeps what a full refresh would: newest `updated_at`,
  then newest `_extracted_at`.
-#}
{% macro latest_of_staged_and_kept(new_rows, key, updated_at) -%}
    {%- if is_incremental() -%}
        select * from (
            select * from {{ new_rows }}
            union all
            select * from {{ this }}
            where {{ key }} in (select {{ key }} from {{ new_rows }})
        ) as candidates
        qualify row_number() over (
            partition by {{ key }}
            order by {{ updated_at }} desc, _extracted_at desc
        ) = 1
    {%- else -%}
        select * from {{ new_rows }}
    {%- endif -%}
{%- endmacro %}

{#-
  Pre-hook of a model incremental by extraction slice: delete the slices that
  raw no longer holds (a slice reloaded with no rows), which the model's own
  delete+insert, keyed on the slices it reads, cannot see.
-#}
{% macro drop_slices_gone_from_raw(raw_relation) -%}
    {#- A table from before slices were kept has no slice columns: skip, and
        on_schema_change stops the model with dbt's own message. -#}
    {%- set kept_columns = adapter.get_columns_in_relation(this) | map(attribute='name') | list
        if execute and is_incremental() else [] -%}
    {%- if '_interval_start' in kept_columns -%}
        delete from {{ this }} as kept
        where not exists (
            select 1 from {{ raw_relation }} as raw_rows
            where
                raw_rows._interval_start = kept._interval_start
                and raw_rows._interval_end = kept._interval_end
        )
    {%- endif -%}
{%- endmacro %}
