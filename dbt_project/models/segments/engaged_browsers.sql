-- More than 3 email opens in 30 days and no qualifying order in 30 days.
with

opens as (
    select
        customer_id,
        count(*) as opens
    from {{ ref('int_email_events_attributed') }}
    where
        event_type = 'open'
        and occurred_at >= {{ add_days(as_of(), -30) }}
        and occurred_at < {{ as_of() }}
    group by customer_id
),

recent_buyers as (
    select distinct customer_id
    from {{ ref('int_orders_attributed') }}
    where
        is_qualifying
        and customer_id is not null
        and created_at >= {{ add_days(as_of(), -30) }}
        and created_at < {{ as_of() }}
),

final as (
    select
        opens.customer_id,
        '{{ this.name }}' as segment,
        {{ as_of() }} as as_of
    from opens
    left join recent_buyers
        on opens.customer_id = recent_buyers.customer_id
    where
        opens.opens > 3
        and recent_buyers.customer_id is null
)

select * from final
