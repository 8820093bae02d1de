{{
    config(
        materialized='incremental',
        unique_key='email_event_id',
        incremental_strategy='delete+insert',
    )
}}

with

source as (
    select * from {{ source('esp', 'email_events') }}
    {% if is_incremental() %}
        where record_id in (
            select record_id from {{ source('esp', 'email_events') }}
            where _extracted_at >= (select max(_extracted_at) from {{ this }})
        )
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
        _extracted_at,

        row_number() over (
            partition by record_id
            order by record_updated_at desc, _extracted_at desc
        ) as version_rank
    from source
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
    from renamed
    where version_rank = 1
)

select * from final
