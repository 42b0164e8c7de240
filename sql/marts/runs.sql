-- runs: one row per running session (sport = 'running': road, trail, treadmill, track...).
-- Grain: athlete x activity_id.
-- Columns and units: exactly those of the activities view (every ACTIVITIES column, then
-- athlete and year); sub_sport tells trail, treadmill, track... apart.
create or replace view runs as

with sessions as (

    select * from activities

),

final as (

    select *
    from sessions
    where sport = 'running'

)

select * from final
