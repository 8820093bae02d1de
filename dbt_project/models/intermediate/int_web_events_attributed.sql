-- Web events reach a customer only through a logged-in shop customer id.
with

events as (
    select * from {{ ref('stg_web__events') }}
),

shop_identity as (
    select
        customer_id,
        source_customer_id
    from {{ ref('int_customer_records_resolved') }}
    where source = 'shop'
),

final as (
    select
        events.web_event_id,
        shop_identity.customer_id,
        events.product_id,
        events.event_type,
        events.occurred_at
    from events
    inner join shop_identity
        on events.shop_customer_id = shop_identity.source_customer_id
)

select * from final
