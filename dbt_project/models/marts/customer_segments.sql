-- Union of the rule segments listed in var('rule_segments'): one model each
-- in models/segments/, all with the contract (customer_id, segment, as_of).
with

unioned as (
    {% for segment in var('rule_segments') %}
        select
            customer_id,
            segment,
            as_of
        from {{ ref(segment) }}
        {% if not loop.last %}union all{% endif %}
    {% endfor %}
),

final as (
    select
        cast(customer_id as varchar) as customer_id,
        cast(segment as varchar) as segment,
        cast(as_of as timestamp) as as_of
    from unioned
)

select * from final
