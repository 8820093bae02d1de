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
