{#- JSON access, dispatched per adapter (DESIGN.md "Scale-out path"). -#}

{#-
  Several fields of a JSON column from one parse, one output column per key
  (in a select list). `fields` maps each key to a type: 'varchar' (a scalar
  as text; casts stay in the model), 'json', a dict for a nested object (a
  struct column), or a one-element list for an array of that. One parse
  instead of one per field halves the staging of wide records (4M orders with
  their line items: 8.5 s -> 4 s).
-#}
{% macro json_fields(column, fields) -%}
    {{ return(adapter.dispatch('json_fields', 'segmart')(column, fields)) }}
{%- endmacro %}

{% macro default__json_fields(column, fields) -%}
    {{ exceptions.raise_compiler_error("json_fields: no implementation for adapter " ~ adapter.type() ~ "; add " ~ adapter.type() ~ "__json_fields in macros/json.sql") }}
{%- endmacro %}

{% macro duckdb__json_fields(column, fields) -%}
    unnest(json_transform({{ column }}, '{{ tojson(segmart.duckdb_json_structure(fields)) }}'))
{%- endmacro %}

{#- json_transform's structure: the same shape with DuckDB type names. -#}
{% macro duckdb_json_structure(fields) -%}
    {%- if fields is mapping -%}
        {%- set structure = {} -%}
        {%- for key, value in fields.items() -%}
            {%- do structure.update({key: segmart.duckdb_json_structure(value)}) -%}
        {%- endfor -%}
        {{ return(structure) }}
    {%- elif fields is string -%}
        {{ return(fields | upper) }}
    {%- else -%}
        {{ return([segmart.duckdb_json_structure(fields[0])]) }}
    {%- endif -%}
{%- endmacro %}
