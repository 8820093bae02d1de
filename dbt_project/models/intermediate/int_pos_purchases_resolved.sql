-- Till purchases as orders of their buyer, resolved by canonical email like
-- every other source's records. A till records a sale once it is paid, so its
-- status is `paid`; a purchase without a valid email has no customer (it is
-- kept in the orders, never scored). Ids carry a `pos-` prefix so they never
-- meet a shop order id.
with

purchases as (
    select * from {{ ref('stg_pos__purchases') }}
),

pos_identity as (
    select
        customer_id,
        source_customer_id
    from {{ ref('int_customer_records_resolved') }}
    where source = 'pos'
),

final as (
    select
        'pos-' || purchases.purchase_id as order_id,
        pos_identity.customer_id,
        cast(null as varchar) as shop_customer_id,
        'paid' as status,
        purchases.currency,
        purchases.purchase_total as order_total,
        purchases.purchased_at as created_at,
        purchases.purchased_at as updated_at,
        purchases._extracted_at
    from purchases
    left join pos_identity
        on purchases.email_canonical = pos_identity.source_customer_id
)

select * from final
