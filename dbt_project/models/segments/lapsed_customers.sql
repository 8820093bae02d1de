-- A qualifying order ever, none in [as_of - 60 days, as_of).
with

orders as (
    select * from {{ ref('int_orders_attributed') }}
    where is_qualifying and customer_id is not null
),

final as (
    select
        customer_id,
        '{{ this.name }}' as segment,
        {{ as_of() }} as as_of
    from orders
    group by customer_id
    having max(created_at) < {{ add_days(as_of(), -60) }}
)

select * from final
