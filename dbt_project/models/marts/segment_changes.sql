-- Entries and exits at as_of against the previous as_of built (the latest
-- earlier as_of in segment_membership_history); the first build enters all.
with

history as (
    select * from {{ ref('segment_membership_history') }}
),

current_members as (
    select
        customer_id,
        segment
    from history
    where as_of = {{ as_of() }}
),

previous_build as (
    select max(as_of) as previous_as_of
    from history
    where as_of < {{ as_of() }}
),

previous_members as (
    select
        history.customer_id,
        history.segment
    from history
    inner join previous_build
        on history.as_of = previous_build.previous_as_of
),

entered as (
    select
        current_members.customer_id,
        current_members.segment,
        'entered' as change
    from current_members
    left join previous_members
        on
            current_members.customer_id = previous_members.customer_id
            and current_members.segment = previous_members.segment
    where previous_members.customer_id is null
),

exited as (
    select
        previous_members.customer_id,
        previous_members.segment,
        'exited' as change
    from previous_members
    left join current_members
        on
            previous_members.customer_id = current_members.customer_id
            and previous_members.segment = current_members.segment
    where current_members.customer_id is null
),

changes as (
    select * from entered
    union all
    select * from exited
),

final as (
    select
        cast(changes.customer_id as varchar) as customer_id,
        cast(changes.segment as varchar) as segment,
        cast(changes.change as varchar) as change,
        {{ as_of() }} as as_of,
        previous_build.previous_as_of
    from changes
    cross join previous_build
)

select * from final
