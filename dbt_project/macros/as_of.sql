{#-
  The run's as_of (UTC, end of its data interval) as a SQL timestamp literal.
  From var('as_of') when given; otherwise the latest extracted interval end in
  raw. Never current_date / now(): a backfill must reproduce its history.
-#}
{% macro as_of() -%}
    cast('{{ as_of_text() }}' as timestamp)
{%- endmacro %}

{% macro as_of_text() -%}
    {%- set given = var('as_of', none) -%}
    {%- if given is not none and given | string | trim != '' -%}
        {{ return(given | string | trim) }}
    {%- endif -%}
    {%- if not execute -%}
        {{ return('1970-01-01 00:00:00') }}
    {%- endif -%}
    {%- set streams = ['shop__customers', 'shop__orders', 'shop__products', 'crm__contacts', 'esp__email_events', 'web__events'] -%}
    {%- set query -%}
        select cast(max(interval_end) as varchar) from (
        {%- for stream in streams %}
            select max(_interval_end) as interval_end
            from {{ source(stream.split('__')[0], stream.split('__')[1]) }}
            {%- if not loop.last %} union all{% endif %}
        {%- endfor %}
        ) as ends
    {%- endset -%}
    {%- set latest = run_query(query).columns[0].values()[0] -%}
    {%- if latest is none -%}
        {{ exceptions.raise_compiler_error("as_of: raw tables hold no data yet, so there is no latest interval end. Extract first (`segmart extract`) or pass --vars '{as_of: \"YYYY-MM-DD HH:MM:SS\"}'.") }}
    {%- endif -%}
    {{ return(latest) }}
{%- endmacro %}
