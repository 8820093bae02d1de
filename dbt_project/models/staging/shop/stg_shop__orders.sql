{{
    config(
        materialized='incremental',
        unique_key='order_id',
        incremental_strategy='delete+insert',
    )
}}

-- Incremental: rows extracted since the last build compete with the row kept
-- so far for the same order (the latest of all older versions), so the result
-- equals a full refresh's latest-version pick.
with

source as (
    select * from {{ source('shop', 'orders') }}
    {% if is_incremental() %}
        where _extracted_at >= {{ extracted_watermark() }}
    {% endif %}
),

renamed as (
    select
        -- ids
        cast(record_id as varchar) as order_id,
        {{ json_text('record', 'customer_id') }} as shop_customer_id,

        -- strings
        {{ to_enum(json_text('record', 'status')) }} as status,
        upper(trim({{ json_text('record', 'currency') }})) as currency,

        -- numerics
        {{ to_money(json_text('record', 'total')) }} as order_total,

        -- nested: unnested by stg_shop__order_items
        {{ json_array('record', 'line_items') }} as line_items,

        -- timestamps
        {{ to_utc_timestamp(json_text('record', 'created_at')) }} as created_at,
        record_updated_at as updated_at,
        _extracted_at
    from source
),

candidates as (
    select * from renamed
    {% if is_incremental() %}
        union all
        select * from {{ this }}
        where order_id in (select renamed.order_id from renamed)
    {% endif %}
),

ranked as (
    select
        *,
        row_number() over (
            partition by order_id
            order by updated_at desc, _extracted_at desc
        ) as version_rank
    from candidates
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
    from ranked
    where version_rank = 1
)

select * from final
