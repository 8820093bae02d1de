{{
    config(
        materialized='incremental',
        unique_key='order_id',
        incremental_strategy='delete+insert',
    )
}}

with

source as (
    select * from {{ source('shop', 'orders') }}
    {% if is_incremental() %}
        where record_id in (
            select record_id from {{ source('shop', 'orders') }}
            where _extracted_at >= (select max(_extracted_at) from {{ this }})
        )
    {% endif %}
),

latest_orders as (
    select
        record_id,
        record,
        _extracted_at,
        row_number() over (
            partition by record_id
            order by record_updated_at desc, _extracted_at desc
        ) as version_rank
    from source
),

unnested as (
    select
        cast(record_id as varchar) as order_id,
        _extracted_at,
        {{ unnest_with_position(json_array('record', 'line_items'), 'line_item', 'line_number') }}
    from latest_orders
    where version_rank = 1
),

final as (
    select
        -- ids
        order_id || '-' || cast(line_number as varchar) as order_item_id,
        order_id,
        {{ json_text('line_item', 'product_id') }} as product_id,

        -- strings
        {{ json_text('line_item', 'sku') }} as sku,

        -- numerics
        cast(line_number as integer) as line_number,
        cast({{ json_text('line_item', 'quantity') }} as integer) as quantity,
        {{ to_money(json_text('line_item', 'price')) }} as unit_price,

        -- timestamps
        _extracted_at
    from unnested
)

select * from final
