-- An add-to-cart in [as_of - 7 days, as_of) with no qualifying order in the
-- 24 hours after it ([added_at, added_at + 24 h)).
with

add_to_carts as (
    select
        web_event_id,
        customer_id,
        occurred_at as added_at
    from {{ ref('int_web_events_attributed') }}
    where
        event_type = 'add_to_cart'
        and occurred_at >= {{ add_days(as_of(), -7) }}
        and occurred_at < {{ as_of() }}
),

orders as (
    select
        customer_id,
        created_at
    from {{ ref('int_orders_attributed') }}
    where is_qualifying and customer_id is not null
),

followed_by_order as (
    select distinct add_to_carts.web_event_id
    from add_to_carts
    inner join orders
        on
            add_to_carts.customer_id = orders.customer_id
            and add_to_carts.added_at <= orders.created_at
            and {{ add_hours('add_to_carts.added_at', 24) }} > orders.created_at
),

final as (
    select distinct
        add_to_carts.customer_id,
        '{{ this.name }}' as segment,
        {{ as_of() }} as as_of
    from add_to_carts
    left join followed_by_order
        on add_to_carts.web_event_id = followed_by_order.web_event_id
    where followed_by_order.web_event_id is null
)

select * from final
