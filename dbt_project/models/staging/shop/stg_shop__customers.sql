{{
    config(
        materialized='incremental',
        unique_key='shop_customer_id',
        incremental_strategy='delete+insert',
    )
}}

-- The latest raw version per customer among the rows to build; incremental:
-- the rows extracted since the last build, which then compete with the row
-- kept so far for the same customer, so the result equals a full refresh's.
with

source as (
    {{ raw_rows_to_stage(source('shop', 'customers')) }}
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
            'default_address': {'city': 'varchar', 'country_code': 'varchar'},
            'created_at': 'varchar',
        }) }}
    from source
),

renamed as (
    select
        -- ids
        cast(record_id as varchar) as shop_customer_id,

        -- strings
        {{ trim_whitespace('email') }} as email,
        {{ canonical_email('email') }} as email_canonical,
        nullif(trim(first_name), '') as first_name,
        nullif(trim(last_name), '') as last_name,
        nullif(trim(phone), '') as phone,
        nullif(trim(default_address['city']), '') as city,
        nullif(trim(default_address['country_code']), '') as country,

        -- timestamps
        {{ to_utc_timestamp('created_at') }} as created_at,
        record_updated_at as updated_at,
        _extracted_at
    from parsed
),

latest as (
    {{ latest_of_staged_and_kept('renamed', 'shop_customer_id', 'updated_at') }}
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
    from latest
)

select * from final
