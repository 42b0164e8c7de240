-- daily_load: running load of every calendar day, rest days included (UTC days).
-- Grain: athlete x date. Every day from the Monday of the athlete's first week with a run to
-- the Sunday of the week of the latest run; a day without a run has runs = 0 and load = 0
-- (nothing was run: a true zero, not missing data). The last week's days after the latest
-- run count as rest days.
-- Sources: runs (date = UTC date of start_time), run_metrics (load), stg_day_rules.
-- Columns:
--   athlete              varchar
--   date                 date     the UTC day
--   week_start           date     Monday of its ISO week
--   runs                 bigint   runs started that day (0 = rest day)
--   distance_m           double   metres run (0 on a rest day; null when no run of the
--                                 day has a distance)
--   duration_s           double   timer seconds run (0 on a rest day)
--   load                 double   sum of the day's run loads (run_metrics.load, Edwards
--                                 TRIMP units); 0 on a rest day; null when none of the
--                                 day's runs has a load yet
--   acute_load           double   mean daily load of the 7 days ending this day (TRIMP/day)
--   chronic_load         double   mean daily load of the 28 days ending this day (TRIMP/day)
--   acute_chronic_ratio  double   acute_load / chronic_load: the rolling ("coupled") ratio
--                                 of Gabbett 2016; null unless the athlete ran in each of
--                                 the 4 weeks before the 7 days (days d-34 to d-7: four
--                                 weeks of running behind it, no break of two weeks) and
--                                 chronic_load > 0. The acwr_high flag judges it on run
--                                 days only.
--   run_streak_days      bigint   days in a row with a run, ending this day (0 on a rest
--                                 day; capped at 28, as the consecutive_days flag counts)
--   ewma_acute_load      double   exponentially weighted daily load, N = 7 days (Williams
--                                 et al. 2017: lambda = 2 / (N + 1)), TRIMP/day
--   ewma_chronic_load    double   the same with N = 28 days
--   ewma_acute_chronic_ratio double  ewma_acute_load / ewma_chronic_load: the trend of the
--                                 ratio, on the days acute_chronic_ratio is judged; no flag
--                                 reads it
-- The rolling loads, the ratio and the streak are the day rules the flags judged
-- (stg_day_rules, computed once by runlake.flags): this view does not restate them. Days
-- before the first week count as rest days in the rolling windows. A lake written before
-- the day rules were stored has them after its next ingest (null until then).
create or replace view daily_load as

with sessions as (

    select * from runs

),

metrics as (

    select * from run_metrics

),

day_rules as (

    select * from stg_day_rules

),

run_days as (

    select
        sessions.athlete,
        cast(timezone('UTC', sessions.start_time) as date) as date,
        count(*) as runs,
        sum(sessions.distance_m) as distance_m,
        sum(sessions.duration_s) as duration_s,
        sum(metrics.load) as load

    from sessions
    left join metrics
        on sessions.athlete = metrics.athlete
        and sessions.activity_id = metrics.activity_id
    where sessions.start_time is not null
    group by 1, 2

),

bounds as (

    select
        athlete,
        cast(date_trunc('week', min(date)) as date) as first_day,
        cast(date_trunc('week', max(date)) as date) + 6 as last_day
    from run_days
    group by athlete

),

calendar as (

    select
        bounds.athlete,
        cast(d as date) as date
    from bounds
    cross join generate_series(
        bounds.first_day, bounds.last_day, interval 1 day
    ) as t(d)

),

filled as (

    select
        calendar.athlete,
        calendar.date,
        cast(date_trunc('week', calendar.date) as date) as week_start,
        coalesce(run_days.runs, 0) as runs,
        case when run_days.runs is null then 0.0 else run_days.distance_m end as distance_m,
        case when run_days.runs is null then 0.0 else run_days.duration_s end as duration_s,
        case when run_days.runs is null then 0.0 else run_days.load end as load

    from calendar
    left join run_days
        on calendar.athlete = run_days.athlete
        and calendar.date = run_days.date

),

final as (

    select
        filled.athlete,
        filled.date,
        filled.week_start,
        filled.runs,
        filled.distance_m,
        filled.duration_s,
        filled.load,
        day_rules.acute_load,
        day_rules.chronic_load,
        day_rules.acute_chronic_ratio,
        cast(day_rules.run_streak_days as bigint) as run_streak_days,
        day_rules.ewma_acute_load,
        day_rules.ewma_chronic_load,
        day_rules.ewma_acute_chronic_ratio

    from filled
    left join day_rules
        on filled.athlete = day_rules.athlete
        and filled.date = day_rules.date

)

select * from final
