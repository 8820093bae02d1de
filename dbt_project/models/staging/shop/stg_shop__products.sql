with

-- The latest raw version per id first, so only its JSON is parsed.
latest as (
    {{ latest_raw_version(source('shop', 'products')) }}
),

parsed as (
    select
        record_id,
        record_updated_at,
        _extracted_at,
        {{ json_fields('record', {
            'sku': 'varchar',
            'title': 'varchar',
            'category': 'varchar',
            'price': 'varchar',
        }) }}
    from latest
),

renamed as (
    select
        -- ids
        cast(record_id as varchar) as product_id,

        -- strings
        sku,
        title,
        {{ to_enum('category') }} as category,

        -- numerics
        {{ to_money('price') }} as price,

        -- timestamps
        record_updated_at as updated_at,
        _extracted_at
    from parsed
),

final as (
    select
        product_id,
        sku,
        title,
        category,
        price,
        updated_at,
        _extracted_at
    from renamed
)

select * from final
