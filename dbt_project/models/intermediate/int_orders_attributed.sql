-- Orders with their resolved customer and whether they qualify at as_of:
-- latest known status paid or fulfilled, created before as_of. A view: the
-- as_of-free part is the incremental int_orders_resolved.
with

orders as (
    select * from {{ ref('int_orders_resolved') }}
),

final as (
    select
        order_id,
        customer_id,
        shop_customer_id,
        status,
        currency,
        order_total,
        coalesce(
            status in ('paid', 'fulfilled') and created_at < {{ as_of() }},
            false
        ) as is_qualifying,
        created_at,
        updated_at
    from orders
)

select * from final
