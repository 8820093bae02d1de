{{
    config(
        materialized='incremental',
        unique_key='web_event_id',
        incremental_strategy='delete+insert',
    )
}}

with

source as (
    select * from {{ source('web', 'events') }}
    {% if is_incremental() %}
        where record_id in (
            select record_id from {{ source('web', 'events') }}
            where _extracted_at >= (select max(_extracted_at) from {{ this }})
        )
    {% endif %}
),

renamed as (
    select
        -- ids
        cast(record_id as varchar) as web_event_id,
        {{ json_text('record', 'anonymous_id') }} as anonymous_id,
        {{ json_text('record', 'customer_id') }} as shop_customer_id,
        {{ json_text('record', 'product_id') }} as product_id,

        -- strings
        {{ to_enum(json_text('record', 'type')) }} as event_type,

        -- timestamps
        record_updated_at as occurred_at,
        _extracted_at,

        row_number() over (
            partition by record_id
            order by record_updated_at desc, _extracted_at desc
        ) as version_rank
    from source
),

final as (
    select
        web_event_id,
        anonymous_id,
        shop_customer_id,
        product_id,
        event_type,
        occurred_at,
        _extracted_at
    from renamed
    where version_rank = 1
)

select * from final
