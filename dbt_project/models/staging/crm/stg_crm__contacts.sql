-- The latest version of each contact (by updated_at, then _extracted_at).
with

latest as (
    {{ latest_version(ref('stg_crm__contact_versions'), 'crm_contact_id', 'updated_at') }}
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
    from latest
)

select * from final
