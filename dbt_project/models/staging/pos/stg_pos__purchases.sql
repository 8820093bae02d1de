-- Till purchases from dropped files: the latest loaded version per purchase id
-- (the same purchase in a corrected file later wins), typed.
with

latest as (
    {{ latest_raw_version(source('pos', 'purchases')) }}
),

parsed as (
    select
        record_id,
        record_updated_at,
        _extracted_at,
        {{ json_fields('record', {
            'store_id': 'varchar',
            'email': 'varchar',
            'total': 'varchar',
            'currency': 'varchar',
        }) }}
    from latest
),

renamed as (
    select
        -- ids
        cast(record_id as varchar) as purchase_id,
        store_id,

        -- strings
        {{ trim_whitespace('email') }} as email,
        {{ canonical_email('email') }} as email_canonical,
        upper(trim(currency)) as currency,

        -- numerics
        {{ to_money('total') }} as purchase_total,

        -- timestamps
        record_updated_at as purchased_at,
        _extracted_at
    from parsed
),

final as (
    select
        purchase_id,
        store_id,
        email,
        email_canonical,
        currency,
        purchase_total,
        purchased_at,
        _extracted_at
    from renamed
)

select * from final
