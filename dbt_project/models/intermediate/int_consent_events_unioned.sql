-- The consent timeline: CRM consent changes and ESP unsubscribes, per customer.
with

identity as (
    select * from {{ ref('int_customer_records_resolved') }}
),

crm_versions as (
    select
        crm_contact_id,
        email_consent,
        updated_at,
        lag(email_consent) over (
            partition by crm_contact_id
            order by updated_at, _extracted_at
        ) as previous_consent,
        row_number() over (
            partition by crm_contact_id
            order by updated_at, _extracted_at
        ) as version_number
    from {{ ref('stg_crm__contact_versions') }}
    where email_consent is not null
),

crm_changes as (
    select
        identity.customer_id,
        'crm' as source,
        crm_versions.email_consent,
        crm_versions.updated_at as changed_at
    from crm_versions
    inner join identity
        on
            identity.source = 'crm'
            and crm_versions.crm_contact_id = identity.source_customer_id
    where
        crm_versions.version_number = 1
        or crm_versions.email_consent != crm_versions.previous_consent
),

esp_unsubscribes as (
    select
        identity.customer_id,
        'esp' as source,
        false as email_consent,
        events.occurred_at as changed_at
    from {{ ref('stg_esp__email_events') }} as events
    inner join identity
        on
            identity.source = 'esp'
            and events.email_canonical = identity.source_customer_id
    where events.event_type = 'unsubscribe'
),

final as (
    select * from crm_changes
    union all
    select * from esp_unsubscribes
)

select * from final
