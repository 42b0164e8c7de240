-- daily_load: running load of every calendar day, rest days included (UTC days).
-- Grain: athlete x date. Every day from the Monday of the athlete's first week with a run to
-- the Sunday of the week of the latest run; a day without a run has runs = 0 and load = 0
-- (nothing was run: a true zero, not missing data). The last week's days after the latest
-- run count as rest days.
-- Sources: runs (date = UTC date of start_time), run_metrics (load).
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
--                                 of Gabbett 2016, computed as the acwr_high flag does;
--                                 null unless the athlete ran 27 to 55 days before (the
--                                 chronic window then holds four weeks of training) and
--                                 chronic_load > 0. The flag judges run days only.
--   run_streak_days      bigint   days in a row with a run, ending this day (0 on a rest
--                                 day; the consecutive_days flag caps it at 28)
-- Days before the first week count as rest days in the rolling windows.
create or replace view daily_load as

with sessions as (

    select * from runs

),

metrics as (

    select * from run_metrics

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

rolling as (

    select
        *,
        coalesce(sum(load) over last_7, 0) / 7 as acute_load,
        coalesce(sum(load) over last_28, 0) / 28 as chronic_load,
        coalesce(sum(runs) over history, 0) > 0 as has_history,
        max(case when runs = 0 then date end) over to_date as last_rest_day,
        min(date) over (partition by athlete) as first_day

    from filled
    window
        last_7 as (partition by athlete order by date rows between 6 preceding and current row),
        last_28 as (
            partition by athlete order by date rows between 27 preceding and current row
        ),
        history as (
            partition by athlete order by date rows between 55 preceding and 27 preceding
        ),
        to_date as (partition by athlete order by date rows unbounded preceding)

),

final as (

    select
        athlete,
        date,
        week_start,
        runs,
        distance_m,
        duration_s,
        load,
        acute_load,
        chronic_load,
        case
            when has_history and chronic_load > 0 then acute_load / chronic_load
        end as acute_chronic_ratio,
        case
            when runs = 0 then 0
            else date - coalesce(last_rest_day, first_day - 1)
        end as run_streak_days

    from rolling

)

select * from final
