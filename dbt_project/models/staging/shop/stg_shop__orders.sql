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
        -- Every version of each order touched since the last build, so the
        -- latest-version rule sees the same rows as a full refresh.
        where record_id in (
            select record_id from {{ source('shop', 'orders') }}
            where _extracted_at >= (select max(_extracted_at) from {{ this }})
        )
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

        -- timestamps
        {{ to_utc_timestamp(json_text('record', 'created_at')) }} as created_at,
        record_updated_at as updated_at,
        _extracted_at,

        row_number() over (
            partition by record_id
            order by record_updated_at desc, _extracted_at desc
        ) as version_rank
    from source
),

final as (
    select
        order_id,
        shop_customer_id,
        status,
        currency,
        order_total,
        created_at,
        updated_at,
        _extracted_at
    from renamed
    where version_rank = 1
)

select * from final
