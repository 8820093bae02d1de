-- At least 4 qualifying orders in [as_of - 30 days, as_of).
with

orders as (
    select * from {{ ref('int_orders_attributed') }}
    where
        is_qualifying
        and customer_id is not null
        and created_at >= {{ add_days(as_of(), -30) }}
        and created_at < {{ as_of() }}
),

final as (
    select
        customer_id,
        '{{ this.name }}' as segment,
        {{ as_of() }} as as_of
    from orders
    group by customer_id
    having count(*) >= 4
)

select * from final
