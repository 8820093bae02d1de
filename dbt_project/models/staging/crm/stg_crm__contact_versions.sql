{{
    config(
        materialized='incremental',
        unique_key=['_interval_start', '_interval_end'],
        incremental_strategy='delete+insert',
        pre_hook="{{ drop_slices_gone_from_raw(source('crm', 'contacts')) }}",
    )
}}

-- Every extracted version of each contact: the consent timeline needs them.
-- Incremental by extraction slice, mirroring raw: a reloaded slice replaces
-- its rows (a re-pull can lose versions: a contact changed since has moved to
-- a later window), and the pre-hook drops slices raw no longer holds, so the
-- table always equals a full refresh.
with

source as (
    select * from {{ source('crm', 'contacts') }}
    {% if is_incremental() %}
        where _extracted_at >= {{ extracted_watermark() }}
    {% endif %}
),

parsed as (
    select
        record_id,
        record_updated_at,
        _extracted_at,
        _interval_start,
        _interval_end,
        {{ json_fields('record', {
            'email': 'varchar',
            'first_name': 'varchar',
            'last_name': 'varchar',
            'phone': 'varchar',
            'phone_number': 'varchar',
            'city': 'varchar',
            'country': 'varchar',
            'email_consent': 'varchar',
            'birth_date': 'varchar',
            'signup_at': 'varchar',
        }) }}
    from source
),

renamed as (
    select
        -- ids
        cast(record_id as varchar) as crm_contact_id,

        -- strings
        {{ trim_whitespace('email') }} as email,
        {{ canonical_email('email') }} as email_canonical,
        nullif(trim(first_name), '') as first_name,
        nullif(trim(last_name), '') as last_name,
        -- schema drift: `phone` was renamed `phone_number` from a date on.
        nullif(trim(coalesce(phone, phone_number)), '') as phone,
        nullif(trim(city), '') as city,
        nullif(trim(country), '') as country,

        -- booleans
        {{ to_boolean('email_consent') }} as email_consent,

        -- dates and timestamps
        cast(birth_date as date) as birth_date,
        {{ to_utc_timestamp('signup_at') }} as signup_at,
        record_updated_at as updated_at,
        _extracted_at,
        _interval_start,
        _interval_end
    from parsed
),

final as (
    select distinct * from renamed
)

select * from final
