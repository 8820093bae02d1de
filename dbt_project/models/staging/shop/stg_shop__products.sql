with

source as (
    select * from {{ source('shop', 'products') }}
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
        _extracted_at,

        row_number() over (
            partition by record_id
            order by record_updated_at desc, _extracted_at desc
        ) as version_rank
    from source
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
    where version_rank = 1
)

select * from final
