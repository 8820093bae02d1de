with

final as (
    select
        cast(customer_id as varchar) as customer_id,
        cast(source as varchar) as source,
        cast(source_customer_id as varchar) as source_customer_id,
        cast(email_canonical as varchar) as email_canonical,
        cast(updated_at as timestamp) as source_updated_at
    from {{ ref('int_customer_records_resolved') }}
)

select * from final
