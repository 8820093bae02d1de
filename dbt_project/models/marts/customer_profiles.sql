-- One row per resolved customer: survived attributes, consent at as_of,
-- order and engagement summaries.
with

profiles as (
    select * from {{ ref('int_customer_profiles_survived') }}
),

consents as (
    select * from {{ ref('int_customer_consents_resolved') }}
),

order_summary as (
    select
        customer_id,
        count(*) as lifetime_orders,
        sum(order_total) as lifetime_revenue,
        min(created_at) as first_order_at,
        max(created_at) as last_order_at
    from {{ ref('int_orders_attributed') }}
    where is_qualifying and customer_id is not null
    group by customer_id
),

email_summary as (
    select
        customer_id,
        sum(case when event_type = 'open' then 1 else 0 end) as email_opens_30d,
        sum(case when event_type = 'click' then 1 else 0 end) as email_clicks_30d
    from {{ ref('int_email_events_attributed') }}
    where
        occurred_at >= {{ add_days(as_of(), -30) }}
        and occurred_at < {{ as_of() }}
    group by customer_id
),

web_summary as (
    select
        customer_id,
        count(*) as web_events_30d,
        max(occurred_at) as last_web_event_at
    from {{ ref('int_web_events_attributed') }}
    where
        occurred_at >= {{ add_days(as_of(), -30) }}
        and occurred_at < {{ as_of() }}
    group by customer_id
),

final as (
    select
        -- ids
        cast(profiles.customer_id as varchar) as customer_id,

        -- strings
        cast(profiles.email as varchar) as email,
        cast(profiles.first_name as varchar) as first_name,
        cast(profiles.last_name as varchar) as last_name,
        cast(profiles.phone as varchar) as phone,
        cast(profiles.city as varchar) as city,
        cast(profiles.country as varchar) as country,

        -- numerics
        cast(coalesce(order_summary.lifetime_orders, 0) as integer) as lifetime_orders,
        cast(coalesce(order_summary.lifetime_revenue, 0) as decimal(18, 2)) as lifetime_revenue,
        cast(coalesce(email_summary.email_opens_30d, 0) as integer) as email_opens_30d,
        cast(coalesce(email_summary.email_clicks_30d, 0) as integer) as email_clicks_30d,
        cast(coalesce(web_summary.web_events_30d, 0) as integer) as web_events_30d,

        -- booleans
        cast(consents.email_consent as boolean) as email_consent,

        -- dates and timestamps
        cast(profiles.birth_date as date) as birth_date,
        cast(profiles.signup_at as timestamp) as signup_at,
        cast(consents.email_consent_changed_at as timestamp) as email_consent_changed_at,
        cast(order_summary.first_order_at as timestamp) as first_order_at,
        cast(order_summary.last_order_at as timestamp) as last_order_at,
        cast(web_summary.last_web_event_at as timestamp) as last_web_event_at,
        cast(profiles.updated_at as timestamp) as updated_at,
        {{ as_of() }} as as_of
    from profiles
    inner join consents
        on profiles.customer_id = consents.customer_id
    left join order_summary
        on profiles.customer_id = order_summary.customer_id
    left join email_summary
        on profiles.customer_id = email_summary.customer_id
    left join web_summary
        on profiles.customer_id = web_summary.customer_id
)

select * from final
