-- Union of the rule segments: every model in models/segments/, all with the
-- contract (customer_id, segment, as_of). dbt needs each parent named when it
-- parses this file, so each segment has one depends_on line here;
-- union_rule_segments() stops the build, naming the line, when they disagree
-- with the folder.
-- depends_on: {{ ref('cart_abandoners') }}
-- depends_on: {{ ref('engaged_browsers') }}
-- depends_on: {{ ref('frequent_buyers') }}
-- depends_on: {{ ref('high_value') }}
-- depends_on: {{ ref('lapsed_customers') }}
-- depends_on: {{ ref('new_subscribers') }}
with

unioned as (
    {{ union_rule_segments() }}
),

final as (
    select
        cast(customer_id as varchar) as customer_id,
        cast(segment as varchar) as segment,
        cast(as_of as timestamp) as as_of
    from unioned
)

select * from final
