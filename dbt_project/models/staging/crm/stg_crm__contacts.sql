with

versions as (
    select * from {{ ref('stg_crm__contact_versions') }}
),

ranked as (
    select
        *,
        row_number() over (
            partition by crm_contact_id
            order by updated_at desc, _extracted_at desc
        ) as version_rank
    from versions
),

final as (
    select
        crm_contact_id,
        email,
        email_canonical,
        first_name,
        last_name,
        phone,
        city,
        country,
        email_consent,
        birth_date,
        signup_at,
        updated_at,
        _extracted_at
    from ranked
    where version_rank = 1
)

select * from final
