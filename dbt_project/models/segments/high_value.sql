-- Scored customers at or above the 90th percentile of monetary:
-- 10 * (scored customers with monetary <= theirs) >= 9 * n, i.e. cume_dist() >= 0.9.
with

rfm as (
    select
        customer_id,
        count(*) over (order by monetary asc range between unbounded preceding and current row)
            as customers_at_or_below,
        count(*) over () as scored_customers
    from {{ ref('customer_rfm') }}
),

final as (
    select
        customer_id,
        '{{ this.name }}' as segment,
        {{ as_of() }} as as_of
    from rfm
    where 10 * customers_at_or_below >= 9 * scored_customers
)

select * from final
