with

items as (
    select * from {{ ref('stg_shop__order_items') }}
),

orders as (
    select * from {{ ref('int_orders_attributed') }}
),

final as (
    select
        cast(items.order_item_id as varchar) as order_item_id,
        cast(items.order_id as varchar) as order_id,
        cast(orders.customer_id as varchar) as customer_id,
        cast(items.product_id as varchar) as product_id,
        cast(items.sku as varchar) as sku,
        cast(items.line_number as integer) as line_number,
        cast(items.quantity as integer) as quantity,
        cast(items.unit_price as decimal(18, 2)) as unit_price,
        cast(items.quantity * items.unit_price as decimal(18, 2)) as line_total
    from items
    inner join orders
        on items.order_id = orders.order_id
)

select * from final
