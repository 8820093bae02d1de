-- Email consent at as_of: the latest consent event before as_of wins (an
-- unsubscribe wins a tie); no event means no consent.
with

events as (
    select * from {{ ref('int_consent_events_unioned') }}
    where changed_at < {{ as_of() }}
),

ranked as (
    select
        customer_id,
        email_consent,
        changed_at,
        source,
        row_number() over (
            partition by customer_id
            order by changed_at desc, case when email_consent then 1 else 0 end asc
        ) as recency_rank
    from events
),

final as (
    select
        customers.customer_id,
        coalesce(ranked.email_consent, false) as email_consent,
        ranked.changed_at as email_consent_changed_at,
        ranked.source as email_consent_source
    from (select distinct customer_id from {{ ref('int_customer_records_resolved') }}) as customers
    left join ranked
        on
            customers.customer_id = ranked.customer_id
            and ranked.recency_rank = 1
)

select * from final
