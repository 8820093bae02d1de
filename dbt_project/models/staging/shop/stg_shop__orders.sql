{{
    config(
        materialized='incremental',
        unique_key='order_id',
        incremental_strategy='delete+insert',
    )
}}

-- The latest raw version per order among the rows to build; incremental: the
-- rows extracted since the last build, which then compete with the row kept
-- so far for the same order, so the result equals a full refresh's pick.
with

source as (
    {{ raw_rows_to_stage(source('shop', 'orders')) }}
),

parsed as (
    select
        record_id,
        record_updated_at,
        _extracted_at,
        {{ json_fields('record', {
            'customer_id': 'varchar',
            'status': 'varchar',
            'currency': 'varchar',
            'total': 'varchar',
            'created_at': 'varchar',
            'line_items': [{
                'product_id': 'varchar',
                'sku': 'varchar',
                'quantity': 'varchar',
                'price': 'varchar',
            }],
        }) }}
    from source
),

renamed as (
    select
        -- ids
        cast(record_id as varchar) as order_id,
        customer_id as shop_customer_id,

        -- strings
        {{ to_enum('status') }} as status,
        upper(trim(currency)) as currency,

        -- numerics
        {{ to_money('total') }} as order_total,

        -- nested: unnested by stg_shop__order_items
        line_items,

        -- timestamps
        {{ to_utc_timestamp('created_at') }} as created_at,
        record_updated_at as updated_at,
        _extracted_at
    from parsed
),

latest as (
    {{ latest_of_staged_and_kept('renamed', 'order_id', 'updated_at') }}
),

final as (
    select
        order_id,
        shop_customer_id,
        status,
        currency,
        order_total,
        line_items,
        created_at,
        updated_at,
        _extracted_at
    from latest
)

select * from final
