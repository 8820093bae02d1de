-- Survivorship: for each attribute the CRM value wins when not null, else the
-- value of the most recently updated record of any source.
with

identity as (
    select * from {{ ref('int_customer_records_resolved') }}
),

crm as (
    select
        identity.customer_id,
        1 as source_priority,
        contacts.crm_contact_id as source_customer_id,
        contacts.first_name,
        contacts.last_name,
        contacts.phone,
        contacts.city,
        contacts.country,
        contacts.birth_date,
        contacts.signup_at,
        contacts.updated_at
    from {{ ref('stg_crm__contacts') }} as contacts
    inner join identity
        on
            identity.source = 'crm'
            and contacts.crm_contact_id = identity.source_customer_id
),

shop as (
    select
        identity.customer_id,
        2 as source_priority,
        customers.shop_customer_id as source_customer_id,
        customers.first_name,
        customers.last_name,
        customers.phone,
        customers.city,
        customers.country,
        cast(null as date) as birth_date,
        customers.created_at as signup_at,
        customers.updated_at
    from {{ ref('stg_shop__customers') }} as customers
    inner join identity
        on
            identity.source = 'shop'
            and customers.shop_customer_id = identity.source_customer_id
),

records as (
    select * from crm
    union all
    select * from shop
),

{% set attributes = ['first_name', 'last_name', 'phone', 'city', 'country', 'birth_date', 'signup_at'] %}
survived as (
    select
        customer_id,
        {% for attribute in attributes %}
            first_value({{ attribute }} ignore nulls) over (
                partition by customer_id
                order by source_priority asc, updated_at desc, source_customer_id asc
                rows between unbounded preceding and unbounded following
            ) as {{ attribute }},
        {% endfor %}
        max(updated_at) over (partition by customer_id) as updated_at
    from records
),

customers as (
    select
        customer_id,
        max(email_canonical) as email
    from identity
    group by customer_id
),

final as (
    select distinct
        customers.customer_id,
        customers.email,
        {% for attribute in attributes %}
            survived.{{ attribute }},
        {% endfor %}
        survived.updated_at
    from customers
    left join survived
        on customers.customer_id = survived.customer_id
)

select * from final
