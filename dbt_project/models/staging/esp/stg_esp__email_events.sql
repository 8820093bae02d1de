{{
    config(
        materialized='incremental',
        unique_key='email_event_id',
        incremental_strategy='delete+insert',
    )
}}

-- The latest raw version per event among the rows to build; incremental: the
-- rows extracted since the last build, which then compete with the row kept
-- so far for the same id, so the result equals a full refresh's.
with

source as (
    {{ raw_rows_to_stage(source('esp', 'email_events')) }}
),

parsed as (
    select
        record_id,
        record_updated_at,
        _extracted_at,
        {{ json_fields('record', {
            'campaign_id': 'varchar',
            'email': 'varchar',
            'type': 'varchar',
        }) }}
    from source
),

renamed as (
    select
        -- ids
        cast(record_id as varchar) as email_event_id,
        campaign_id,

        -- strings
        {{ trim_whitespace('email') }} as email,
        {{ canonical_email('email') }} as email_canonical,
        {{ to_enum('type') }} as event_type,

        -- timestamps
        record_updated_at as occurred_at,
        _extracted_at
    from parsed
),

latest as (
    {{ latest_of_staged_and_kept('renamed', 'email_event_id', 'occurred_at') }}
),

final as (
    select
        email_event_id,
        campaign_id,
        email,
        email_canonical,
        event_type,
        occurred_at,
        _extracted_at
    from latest
)

select * from final
