{{
    config(
        materialized='incremental',
        unique_key='order_id',
        incremental_strategy='delete+insert',
    )
}}

-- Line items of each order's latest version. Incremental: only orders whose
-- staged version changed since the last build (newer _extracted_at).
with

orders as (
    select
        order_id,
        line_items,
        _extracted_at
    from {{ ref('stg_shop__orders') }}
    {% if is_incremental() %}
        where _extracted_at >= {{ extracted_watermark() }}
    {% endif %}
),

unnested as (
    select
        order_id,
        _extracted_at,
        {{ unnest_with_position('line_items', 'line_item', 'line_number') }}
    from orders
),

final as (
    select
        -- ids
        order_id || '-' || cast(line_number as varchar) as order_item_id,
        order_id,
        line_item['product_id'] as product_id,

        -- strings
        line_item['sku'] as sku,

        -- numerics
        cast(line_number as integer) as line_number,
        cast(line_item['quantity'] as integer) as quantity,
        {{ to_money("line_item['price']") }} as unit_price,

        -- timestamps
        _extracted_at
    from unnested
)

select * from final
