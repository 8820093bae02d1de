-- One row per source record that describes a person, with its resolved
-- customer_id: records sharing a canonical email are one customer; a record
-- without a valid email stays its own customer. Ids are hashes of their
-- inputs, so the same data gives the same ids run after run.
with

crm_contacts as (
    select
        'crm' as source,
        crm_contact_id as source_customer_id,
        email_canonical,
        updated_at
    from {{ ref('stg_crm__contacts') }}
),

shop_customers as (
    select
        'shop' as source,
        shop_customer_id as source_customer_id,
        email_canonical,
        updated_at
    from {{ ref('stg_shop__customers') }}
),

-- The ESP knows people only by email address; its id is the canonical email.
esp_recipients as (
    select
        'esp' as source,
        email_canonical as source_customer_id,
        email_canonical,
        max(occurred_at) as updated_at
    from {{ ref('stg_esp__email_events') }}
    where email_canonical is not null
    group by email_canonical
),

-- A till knows its buyers by the email they give, if any: like the ESP's, their id
-- is the canonical email.
pos_buyers as (
    select
        'pos' as source,
        email_canonical as source_customer_id,
        email_canonical,
        max(purchased_at) as updated_at
    from {{ ref('stg_pos__purchases') }}
    where email_canonical is not null
    group by email_canonical
),

unioned as (
    select * from crm_contacts
    union all
    select * from shop_customers
    union all
    select * from esp_recipients
    union all
    select * from pos_buyers
),

final as (
    select
        {{ dbt.hash(
            "case when email_canonical is not null then 'email:' || email_canonical"
            ~ " else source || ':' || source_customer_id end"
        ) }} as customer_id,
        source,
        source_customer_id,
        email_canonical,
        updated_at
    from unioned
)

select * from final
