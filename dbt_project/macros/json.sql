{#- JSON access, dispatched per adapter (DESIGN.md "Scale-out path"). -#}

{#- A scalar field of a JSON column as text; `path` is a dotted key path. -#}
{% macro json_text(column, path) -%}
    {{ return(adapter.dispatch('json_text', 'segmart')(column, path)) }}
{%- endmacro %}

{% macro default__json_text(column, path) -%}
    json_extract_scalar({{ column }}, '$.{{ path }}')
{%- endmacro %}

{% macro duckdb__json_text(column, path) -%}
    json_extract_string({{ column }}, '$.{{ path }}')
{%- endmacro %}

{#- The elements of a JSON array field as a list; pair with unnest_list(). -#}
{% macro json_array(column, path) -%}
    {{ return(adapter.dispatch('json_array', 'segmart')(column, path)) }}
{%- endmacro %}

{% macro default__json_array(column, path) -%}
    cast(json_extract({{ column }}, '$.{{ path }}') as array(json))
{%- endmacro %}

{% macro duckdb__json_array(column, path) -%}
    json_extract({{ column }}, '$.{{ path }}[*]')
{%- endmacro %}
