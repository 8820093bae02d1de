with

source as (
    select * from {{ source('shop', 'customers') }}
),

-- The latest raw version per id first, so only its JSON is parsed.
latest as (
    {{ latest_raw_version('source') }}
),

renamed as (
    select
        -- ids
        cast(record_id as varchar) as shop_customer_id,

        -- strings
        {{ trim_whitespace(json_text('record', 'email')) }} as email,
        {{ canonical_email(json_text('record', 'email')) }} as email_canonical,
        nullif(trim({{ json_text('record', 'first_name') }}), '') as first_name,
        nullif(trim({{ json_text('record', 'last_name') }}), '') as last_name,
        nullif(trim({{ json_text('record', 'phone') }}), '') as phone,
        nullif(trim({{ json_text('record', 'default_address.city') }}), '') as city,
        nullif(trim({{ json_text('record', 'default_address.country_code') }}), '') as country,

        -- timestamps
        {{ to_utc_timestamp(json_text('record', 'created_at')) }} as created_at,
        record_updated_at as updated_at,
        _extracted_at
    from latest
),

final as (
    select
        shop_customer_id,
        email,
        email_canonical,
        first_name,
        last_name,
        phone,
        city,
        country,
        created_at,
        updated_at,
        _extracted_at
    from renamed
)

select * from final
