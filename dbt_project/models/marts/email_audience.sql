-- Rule-segment members whose email consent is true at as_of and who have a
-- valid email address.
with

final as (
    select
        segments.customer_id,
        profiles.email,
        segments.segment,
        segments.as_of
    from {{ ref('customer_segments') }} as segments
    inner join {{ ref('customer_profiles') }} as profiles
        on segments.customer_id = profiles.customer_id
    where
        profiles.email_consent
        and profiles.email is not null
)

select * from final
