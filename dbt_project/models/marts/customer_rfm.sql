-- RFM per scored customer with its segment from the editable seed
-- rfm_segment_map (a complete partition of the 25 (r_score, f_score) cells).
with

scored as (
    select * from {{ ref('int_customers_rfm_scored') }}
),

final as (
    select
        cast(scored.customer_id as varchar) as customer_id,
        {{ as_of() }} as as_of,
        cast(scored.recency_days as integer) as recency_days,
        cast(scored.frequency as integer) as frequency,
        cast(scored.monetary as decimal(18, 2)) as monetary,
        cast(scored.r_score as integer) as r_score,
        cast(scored.f_score as integer) as f_score,
        cast(scored.m_score as integer) as m_score,
        cast(segment_map.segment as varchar) as rfm_segment
    from scored
    left join {{ ref('rfm_segment_map') }} as segment_map
        on
            scored.r_score = segment_map.r_score
            and scored.f_score = segment_map.f_score
)

select * from final
