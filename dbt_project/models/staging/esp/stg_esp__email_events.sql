{{
    config(
        materialized='incremental',
        unique_key='email_event_id',
        incremental_strategy='delete+insert',
    )
}}

-- Incremental: rows extracted since the last build compete with the row kept
-- so far for the same id (the latest of all older versions), so the result
-- equals a full refresh's latest-version pick.
with

source as (
    select * from {{ source('esp', 'email_events') }}
    {% if is_incremental() %}
        where _extracted_at >= {{ extracted_watermark() }}
    {% endif %}
),

renamed as (
    select
        -- ids
        cast(record_id as varchar) as email_event_id,
        {{ json_text('record', 'campaign_id') }} as campaign_id,

        -- strings
        {{ trim_whitespace(json_text('record', 'email')) }} as email,
        {{ canonical_email(json_text('record', 'email')) }} as email_canonical,
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
        where email_event_id in (select renamed.email_event_id from renamed)
    {% endif %}
),

ranked as (
    select
        *,
        row_number() over (
            partition by email_event_id
            order by occurred_at desc, _extracted_at desc
        ) as version_rank
    from candidates
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
    from ranked
    where version_rank = 1
)

select * from final
