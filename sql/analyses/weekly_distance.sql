-- Question: How far and how long did I run in each of my last weeks?
-- ISO weeks (Monday start, UTC), counted back from the week of the latest run (or of
-- until). Weeks without a run show 0 runs and 0 km: nothing was run, which is not missing
-- data.
-- param: athlete varchar (default: configured) whose runs (default: the configured athlete)
-- param: weeks integer (default: 12) how many weeks
-- param: until date (default: null) a day of the last week shown (default: the latest run's)
-- Columns: athlete, week_start (date), runs, distance_km, duration_h, long_run_km,
-- avg_hr_bpm (duration-weighted, null when no heart rate).

with load as (

    select * from weekly_load
    where athlete = $athlete

),

last_week as (

    select
        athlete,
        coalesce(
            cast(date_trunc('week', cast($until as date)) as date), max(week_start)
        ) as week_start
    from load
    group by athlete

),

weeks as (

    select
        last_week.athlete,
        cast(w as date) as week_start
    from last_week
    cross join generate_series(
        last_week.week_start - to_weeks(cast($weeks as integer) - 1),
        last_week.week_start,
        interval 1 week
    ) as t(w)

),

final as (

    select
        weeks.athlete,
        weeks.week_start,
        coalesce(load.runs, 0) as runs,
        round(coalesce(load.distance_m, 0) / 1000, 2) as distance_km,
        round(coalesce(load.duration_s, 0) / 3600, 2) as duration_h,
        round(load.long_run_m / 1000, 2) as long_run_km,
        round(load.avg_hr_bpm, 1) as avg_hr_bpm

    from weeks
    left join load
        on load.athlete = weeks.athlete
        and load.week_start = weeks.week_start

)

select * from final
order by athlete, week_start
