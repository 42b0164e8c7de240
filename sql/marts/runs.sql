-- runs: one row per running session (sport = 'running': road, trail, treadmill, track...),
-- one copy of each: the primary (duplicate_of is null); a run's other copies (a damaged
-- copy, a second export, a second device) stay in activities only.
-- Grain: athlete x activity_id.
-- Columns and units: exactly those of the activities view (every ACTIVITIES column,
-- duplicate_of and duplicate_reason (always null here), then athlete and year); sub_sport
-- tells trail, treadmill, track... apart.
create or replace view runs as

with sessions as (

    select * from activities

),

final as (

    select *
    from sessions
    where sport = 'running' and duplicate_of is null

)

select * from final
