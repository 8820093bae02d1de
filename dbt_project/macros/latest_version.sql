{#-
  The latest raw version of each record: by record_updated_at, then
  _extracted_at. Staging ranks raw rows on these plain columns before parsing
  any JSON, so only the surviving version's record is parsed.
-#}
{% macro latest_raw_version(relation) -%}
    select * from (
        select
            *,
            row_number() over (
                partition by record_id
                order by record_updated_at desc, _extracted_at desc
            ) as raw_version_rank
        from {{ relation }}
    ) as versions
    where raw_version_rank = 1
{%- endmacro %}
