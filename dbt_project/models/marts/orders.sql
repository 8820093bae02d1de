with

final as (
    select
        cast(order_id as varchar) as order_id,
        cast(customer_id as varchar) as customer_id,
        cast(shop_customer_id as varchar) as shop_customer_id,
        cast(status as varchar) as status,
        cast(currency as varchar) as currency,
        cast(order_total as decimal(18, 2)) as order_total,
        cast(is_qualifying as boolean) as is_qualifying,
        cast(created_at as timestamp) as created_at,
        cast(updated_at as timestamp) as updated_at
    from {{ ref('int_orders_attributed') }}
)

select * from final
