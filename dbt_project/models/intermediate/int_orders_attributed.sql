-- Orders with their resolved customer and whether they qualify at as_of:
-- latest known status paid or fulfilled, created before as_of.
with

orders as (
    select * from {{ ref('stg_shop__orders') }}
),

shop_identity as (
    select
        customer_id,
        source_customer_id
    from {{ ref('int_customer_records_resolved') }}
    where source = 'shop'
),

final as (
    select
        orders.order_id,
        shop_identity.customer_id,
        orders.shop_customer_id,
        orders.status,
        orders.currency,
        orders.order_total,
        coalesce(
            orders.status in ('paid', 'fulfilled') and orders.created_at < {{ as_of() }},
            false
        ) as is_qualifying,
        orders.created_at,
        orders.updated_at
    from orders
    left join shop_identity
        on orders.shop_customer_id = shop_identity.source_customer_id
)

select * from final
