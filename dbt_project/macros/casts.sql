{#- ISO 8601 text (with Z or an offset) to a UTC timestamp without time zone. -#}
{% macro to_utc_timestamp(expression) -%}
    {{ return(adapter.dispatch('to_utc_timestamp', 'segmart')(expression)) }}
{%- endmacro %}

{% macro default__to_utc_timestamp(expression) -%}
    cast(from_iso8601_timestamp({{ expression }}) at time zone 'UTC' as timestamp)
{%- endmacro %}

{% macro duckdb__to_utc_timestamp(expression) -%}
    cast(cast({{ expression }} as timestamptz) at time zone 'UTC' as timestamp)
{%- endmacro %}

{#- Money arrives as decimal strings ("129.90"): never via float. -#}
{% macro to_money(expression) -%}
    cast({{ expression }} as decimal(18, 2))
{%- endmacro %}

{#- Lower-cased, trimmed enum text. -#}
{% macro to_enum(expression) -%}
    lower(trim({{ expression }}))
{%- endmacro %}

{% macro to_boolean(expression) -%}
    {{ return(adapter.dispatch('to_boolean', 'segmart')(expression)) }}
{%- endmacro %}

{% macro default__to_boolean(expression) -%}
    case lower(trim(cast({{ expression }} as varchar)))
        when 'true' then true
        when '1' then true
        when 'false' then false
        when '0' then false
    end
{%- endmacro %}
