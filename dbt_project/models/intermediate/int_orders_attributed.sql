-- Orders of every channel (the shop's and the tills') with their resolved
-- customer and whether they qualify at as_of: latest known status paid or
-- fulfilled, created before as_of. A view: the as_of-free parts are the
-- incremental int_orders_resolved and int_pos_purchases_resolved.
with

{% set columns = [
    'order_id', 'customer_id', 'shop_customer_id', 'status', 'currency',
    'order_total', 'created_at', 'updated_at',
] %}
orders as (
    select {{ columns | join(', ') }} from {{ ref('int_orders_resolved') }}
    union all
    select {{ columns | join(', ') }} from {{ ref('int_pos_purchases_resolved') }}
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
