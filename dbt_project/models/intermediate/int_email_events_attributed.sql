with

events as (
    select * from {{ ref('stg_esp__email_events') }}
),

esp_identity as (
    select
        customer_id,
        source_customer_id
    from {{ ref('int_customer_records_resolved') }}
    where source = 'esp'
),

final as (
    select
        events.email_event_id,
        esp_identity.customer_id,
        events.campaign_id,
        events.event_type,
        events.occurred_at
    from events
    inner join esp_identity
        on events.email_canonical = esp_identity.source_customer_id
)

select * from final
