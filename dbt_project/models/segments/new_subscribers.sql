-- CRM signup in [as_of - 30 days, as_of) and email consent at as_of.
with

signups as (
    select
        crm_identity.customer_id,
        min(contacts.signup_at) as signup_at
    from {{ ref('stg_crm__contacts') }} as contacts
    inner join {{ ref('int_customer_records_resolved') }} as crm_identity
        on
            crm_identity.source = 'crm'
            and contacts.crm_contact_id = crm_identity.source_customer_id
    group by crm_identity.customer_id
),

final as (
    select
        signups.customer_id,
        '{{ this.name }}' as segment,
        {{ as_of() }} as as_of
    from signups
    inner join {{ ref('int_customer_consents_resolved') }} as consents
        on signups.customer_id = consents.customer_id
    where
        signups.signup_at >= {{ add_days(as_of(), -30) }}
        and signups.signup_at < {{ as_of() }}
        and consents.email_consent
)

select * from final
