{{
    config(
        materialized='incremental',
        unique_key='web_event_id',
        incremental_strategy='delete+insert',
    )
}}

-- Incremental: rows extracted since the last build compete with the row kept
-- so far for the same id, so the result equals a full refresh's.
with

source as (
    select * from {{ source('web', 'events') }}
    {% if is_incremental() %}
        where _extracted_at >= {{ extracted_watermark() }}
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
        _extracted_at
    from source
),

candidates as (
    select * from renamed
    {% if is_incremental() %}
        union all
        select * from {{ this }}
        where web_event_id in (select renamed.web_event_id from renamed)
    {% endif %}
),

ranked as (
    select
        *,
        row_number() over (
            partition by web_event_id
            order by occurred_at desc, _extracted_at desc
        ) as version_rank
    from candidates
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
    from ranked
    where version_rank = 1
)

select * from final
