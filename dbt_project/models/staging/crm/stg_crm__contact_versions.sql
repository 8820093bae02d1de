-- Every extracted version of each contact: the consent timeline needs them.
with

source as (
    select * from {{ source('crm', 'contacts') }}
),

renamed as (
    select
        -- ids
        cast(record_id as varchar) as crm_contact_id,

        -- strings
        {{ trim_whitespace(json_text('record', 'email')) }} as email,
        {{ canonical_email(json_text('record', 'email')) }} as email_canonical,
        nullif(trim({{ json_text('record', 'first_name') }}), '') as first_name,
        nullif(trim({{ json_text('record', 'last_name') }}), '') as last_name,
        -- schema drift: `phone` was renamed `phone_number` from a date on.
        nullif(trim(coalesce(
            {{ json_text('record', 'phone') }},
            {{ json_text('record', 'phone_number') }}
        )), '') as phone,
        nullif(trim({{ json_text('record', 'city') }}), '') as city,
        nullif(trim({{ json_text('record', 'country') }}), '') as country,

        -- booleans
        {{ to_boolean(json_text('record', 'email_consent')) }} as email_consent,

        -- dates and timestamps
        cast({{ json_text('record', 'birth_date') }} as date) as birth_date,
        {{ to_utc_timestamp(json_text('record', 'signup_at')) }} as signup_at,
        record_updated_at as updated_at,
        _extracted_at
    from source
),

final as (
    select distinct * from renamed
)

select * from final
