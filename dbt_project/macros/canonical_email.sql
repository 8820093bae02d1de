{#-
  DESIGN.md "Identity": trimmed, lower-cased; for gmail.com and googlemail.com
  also dots removed from the local part and any +suffix dropped. Null when the
  trimmed text is not local@domain.tld without spaces: such a record stays its
  own customer.
-#}
{% macro canonical_email(expression) -%}
    {%- set trimmed = "lower(" ~ trim_whitespace(expression) ~ ")" -%}
    case
        when {{ regex_matches(trimmed, '^[^[:space:]@]+@[^[:space:]@]+\\.[^[:space:]@]+$') }}
            then case
                when {{ email_domain(trimmed) }} in ('gmail.com', 'googlemail.com')
                    then replace({{ split_part(email_local_part(trimmed), "'+'", 1) }}, '.', '')
                    || '@' || {{ email_domain(trimmed) }}
                else {{ trimmed }}
            end
    end
{%- endmacro %}

{% macro email_local_part(expression) -%}
    {{ split_part(expression, "'@'", 1) }}
{%- endmacro %}

{% macro email_domain(expression) -%}
    {{ split_part(expression, "'@'", 2) }}
{%- endmacro %}

{% macro split_part(expression, delimiter, part) -%}
    {{ dbt.split_part(expression, delimiter, part) }}
{%- endmacro %}

{#- Trim every kind of white space, not only blanks. -#}
{% macro trim_whitespace(expression) -%}
    {{ return(adapter.dispatch('trim_whitespace', 'segmart')(expression)) }}
{%- endmacro %}

{% macro default__trim_whitespace(expression) -%}
    regexp_replace({{ expression }}, '^[[:space:]]+|[[:space:]]+$', '')
{%- endmacro %}

{% macro duckdb__trim_whitespace(expression) -%}
    regexp_replace({{ expression }}, '^[[:space:]]+|[[:space:]]+$', '', 'g')
{%- endmacro %}

{% macro regex_matches(expression, pattern) -%}
    {{ return(adapter.dispatch('regex_matches', 'segmart')(expression, pattern)) }}
{%- endmacro %}

{% macro default__regex_matches(expression, pattern) -%}
    regexp_like({{ expression }}, '{{ pattern }}')
{%- endmacro %}

{% macro duckdb__regex_matches(expression, pattern) -%}
    regexp_full_match({{ expression }}, '{{ pattern }}')
{%- endmacro %}
