{#- Date math, dispatched per adapter. -#}

{#- Whole days from `start` to `end` (floor of the elapsed time). -#}
{% macro whole_days_between(start, end) -%}
    {{ return(adapter.dispatch('whole_days_between', 'segmart')(start, end)) }}
{%- endmacro %}

{% macro default__whole_days_between(start, end) -%}
    cast(floor({{ dbt.datediff(start, end, 'second') }} / 86400.0) as integer)
{%- endmacro %}

{% macro duckdb__whole_days_between(start, end) -%}
    cast(date_diff('microsecond', {{ start }}, {{ end }}) // 86400000000 as integer)
{%- endmacro %}

{#- timestamp + n hours/days; n may be negative. -#}
{% macro add_hours(timestamp, hours) -%}
    {{ dbt.dateadd('hour', hours, timestamp) }}
{%- endmacro %}

{% macro add_days(timestamp, days) -%}
    {{ dbt.dateadd('day', days, timestamp) }}
{%- endmacro %}

{#- Exact integer division (floor for non-negative operands), never via float. -#}
{% macro integer_divide(numerator, denominator) -%}
    {{ return(adapter.dispatch('integer_divide', 'segmart')(numerator, denominator)) }}
{%- endmacro %}

{% macro default__integer_divide(numerator, denominator) -%}
    cast(floor(({{ numerator }}) / ({{ denominator }})) as integer)
{%- endmacro %}

{% macro duckdb__integer_divide(numerator, denominator) -%}
    (({{ numerator }}) // ({{ denominator }}))
{%- endmacro %}
