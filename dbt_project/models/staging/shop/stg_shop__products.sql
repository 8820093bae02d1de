with

-- The latest raw version per id first, so only its JSON is parsed.
latest as (
    {{ latest_raw_version(source('shop', 'products')) }}
),

renamed as (
    select
        -- ids
        cast(record_id as varchar) as product_id,

        -- strings
        {{ json_text('record', 'sku') }} as sku,
        {{ json_text('record', 'title') }} as title,
        {{ to_enum(json_text('record', 'category')) }} as category,

        -- numerics
        {{ to_money(json_text('record', 'price')) }} as price,

        -- timestamps
        record_updated_at as updated_at,
        _extracted_at
    from latest
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
