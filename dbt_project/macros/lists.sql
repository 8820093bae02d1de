{#- One row per list element, with its 1-based position (select-list form). -#}
{% macro unnest_with_position(list_expression, value_alias, position_alias) -%}
    {{ return(adapter.dispatch('unnest_with_position', 'segmart')(list_expression, value_alias, position_alias)) }}
{%- endmacro %}

{% macro default__unnest_with_position(list_expression, value_alias, position_alias) -%}
    {{ exceptions.raise_compiler_error("unnest_with_position: no implementation for adapter " ~ adapter.type() ~ "; add " ~ adapter.type() ~ "__unnest_with_position in macros/lists.sql") }}
{%- endmacro %}

{% macro duckdb__unnest_with_position(list_expression, value_alias, position_alias) -%}
    unnest({{ list_expression }}) as {{ value_alias }},
    generate_subscripts({{ list_expression }}, 1) as {{ position_alias }}
{%- endmacro %}
