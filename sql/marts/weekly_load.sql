-- weekly_load: running load per athlete and ISO week (Monday start, UTC).
-- Grain: athlete x week_start. Only weeks with at least one run appear.
-- Source: runs.
-- Columns:
--   athlete      varchar
--   week_start   date     Monday of the ISO week of the run's UTC start_time
--   runs         bigint   number of runs
--   distance_m   double   total distance, metres (null if no run has a distance)
--   duration_s   double   total timer time, seconds (null if no run has one)
--   long_run_m   double   longest run's distance, metres
--   avg_hr_bpm   double   duration-weighted mean of the runs' average heart rate,
--                         beats/min, over runs with both heart rate and duration (else null)
create or replace view weekly_load as

with run_sessions as (

    select
        athlete,
        cast(date_trunc('week', timezone('UTC', start_time)) as date) as week_start,
        distance_m,
        duration_s,
        avg_hr_bpm
    from runs

),

final as (

    select
        athlete,
        week_start,
        count(*) as runs,
        sum(distance_m) as distance_m,
        sum(duration_s) as duration_s,
        max(distance_m) as long_run_m,
        sum(avg_hr_bpm * duration_s) filter (where duration_s > 0)
            / sum(duration_s) filter (where avg_hr_bpm is not null and duration_s > 0)
            as avg_hr_bpm

    from run_sessions
    group by athlete, week_start

)

select * from final
