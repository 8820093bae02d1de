{{
    config(
        materialized='incremental',
        unique_key='web_event_id',
        incremental_strategy='delete+insert',
    )
}}

-- The latest raw version per event among the rows to build; incremental: the
-- rows extracted since the last build, which then compete with the row kept
-- so far for the same id, so the result equals a full refresh's.
with

source as (
    {{ raw_rows_to_stage(source('web', 'events')) }}
),

parsed as (
    select
        record_id,
        record_updated_at,
        _extracted_at,
        {{ json_fields('record', {
            'anonymous_id': 'varchar',
            'customer_id': 'varchar',
            'product_id': 'varchar',
            'type': 'varchar',
        }) }}
    from source
),

renamed as (
    select
        -- ids
        cast(record_id as varchar) as web_event_id,
        anonymous_id,
        customer_id as shop_customer_id,
        product_id,

        -- strings
        {{ to_enum('type') }} as event_type,

        -- timestamps
        record_updated_at as occurred_at,
        _extracted_at
    from parsed
),

latest as (
    {{ latest_of_staged_and_kept('renamed', 'web_event_id', 'occurred_at') }}
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
    from latest
)

select * from final
