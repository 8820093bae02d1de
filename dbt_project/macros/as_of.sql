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
    {#- Every source this project declares is a raw stream (one
        `_<source>__sources.yml` per staging folder), so a new source's folder
        is part of the default with no edit here. -#}
    {%- set streams = graph.sources.values()
        | selectattr('package_name', 'equalto', project_name)
        | sort(attribute='unique_id') | list -%}
    {%- set latest = none -%}
    {%- if streams -%}
        {%- set query -%}
            select cast(max(interval_end) as varchar) from (
            {%- for stream in streams %}
                select max(_interval_end) as interval_end
                from {{ source(stream.source_name, stream.name) }}
                {%- if not loop.last %} union all{% endif %}
            {%- endfor %}
            ) as ends
        {%- endset -%}
        {%- set latest = run_query(query).columns[0].values()[0] -%}
    {%- endif -%}
    {%- if latest is none -%}
        {{ exceptions.raise_compiler_error("as_of: raw tables hold no data yet, so there is no latest interval end. Extract first (`segmart extract`) or pass --vars '{as_of: \"YYYY-MM-DD HH:MM:SS\"}'.") }}
    {%- endif -%}
    {{ return(latest) }}
{%- endmacro %}
