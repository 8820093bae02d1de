-- Segment membership per as_of built: what segment_changes compares against.
-- A --full-refresh keeps it: history is not derivable from current raw data.
{{
    config(
        materialized='incremental',
        unique_key='as_of',
        incremental_strategy='delete+insert',
        full_refresh=false,
    )
}}

with

final as (
    select
        customer_id,
        segment,
        as_of
    from {{ ref('customer_segments') }}
)

select * from final
