-- RFM values and scores per DESIGN.md "Definitions": qualifying orders in [as_of - 365 days,
-- as_of); scores from rank() with whole-number arithmetic, ties alike.
with

orders as (
    select
        customer_id,
        order_total,
        created_at
    from {{ ref('int_orders_attributed') }}
    where
        is_qualifying
        and customer_id is not null
        and created_at >= {{ add_days(as_of(), -365) }}
        and created_at < {{ as_of() }}
),

aggregated as (
    select
        customer_id,
        {{ whole_days_between('max(created_at)', as_of()) }} as recency_days,
        count(*) as frequency,
        sum(order_total) as monetary
    from orders
    group by customer_id
),

ranked as (
    select
        customer_id,
        recency_days,
        frequency,
        monetary,
        count(*) over () as scored_customers,
        rank() over (order by recency_days desc) as r_rank,
        rank() over (order by frequency asc) as f_rank,
        rank() over (order by monetary asc) as m_rank
    from aggregated
),

scored as (
    select
        customer_id,
        recency_days,
        frequency,
        monetary,
        {{ rfm_score('r_rank', 'scored_customers') }} as r_score,
        {{ rfm_score('f_rank', 'scored_customers') }} as f_score,
        {{ rfm_score('m_rank', 'scored_customers') }} as m_score
    from ranked
),

final as (
    select
        customer_id,
        cast(recency_days as integer) as recency_days,
        cast(frequency as integer) as frequency,
        cast(monetary as decimal(18, 2)) as monetary,
        cast(r_score as integer) as r_score,
        cast(f_score as integer) as f_score,
        cast(m_score as integer) as m_score
    from scored
)

select * from final
