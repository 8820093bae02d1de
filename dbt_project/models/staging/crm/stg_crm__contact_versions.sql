-- Every extracted version of each contact: the consent timeline needs them.
with

source as (
    select * from {{ source('crm', 'contacts') }}
),

parsed as (
    select
        record_id,
        record_updated_at,
        _extracted_at,
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
        _extracted_at
    from parsed
),

final as (
    select distinct * from renamed
)

select * from final
