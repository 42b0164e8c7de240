-- weekly_training: a runner's training week: volume, rest, intensity and load, with the
-- 10 % rule and cutback weeks as the flags judged them.
-- Grain: athlete x week_start (ISO week, Monday, UTC). Every week from the athlete's first
-- week with a run to the week of the latest run; weeks without a run have runs = 0 and
-- distance, time and load 0 (nothing was run: a true zero).
-- Sources: weekly_load (runs, distance, time, long run, heart rate), daily_load (the seven
-- daily loads), runs and run_metrics (easy and heart-rate time), stg_week_rules (the
-- week rules, computed once in runlake.flags with the user's thresholds), flags.
-- Columns:
--   athlete                varchar
--   week_start             date     Monday of the ISO week (UTC)
--   runs                   bigint   runs that week
--   distance_m             double   metres (null when runs have no distance)
--   duration_s             double   timer seconds
--   long_run_m             double   the longest run, metres (null without runs)
--   avg_hr_bpm             double   duration-weighted mean heart rate, beats/min
--   run_days               bigint   days with at least one run
--   rest_days              bigint   7 - run_days (the latest week: days after the latest
--                                   run count as rest days)
--   easy_s                 double   seconds at or below the easy ceiling (run_metrics)
--   hr_s                   double   seconds with heart rate, over runs with easy_s
--   easy_share_pct         double   100 x easy_s / hr_s, % (0-100; null without hr)
--   load                   double   sum of the runs' loads (run_metrics.load, TRIMP);
--                                   0 without runs; null when no run has a load yet
--   monotony               double   Foster: mean / standard deviation (population) of the
--                                   7 daily loads, rest days 0; 10 when they are equal
--                                   (capped at 10); the monotony_high flag's value; null
--                                   without load
--   strain                 double   Foster: load x monotony
--   acute_chronic_ratio    double   the week's load / the mean weekly load of the 4 weeks
--                                   before; weekly and "uncoupled". Null unless each of
--                                   those 4 weeks had a run (not in the athlete's first 4
--                                   weeks, nor within 4 weeks of a week off: a return
--                                   after a break would read 4.0 by construction) and
--                                   they have load.
--   peak_daily_acwr        double   highest daily_load.acute_chronic_ratio on a run day of
--                                   the week: the rolling 7/28-day ratio the acwr_high
--                                   flag compares with 1.5
--   ewma_acute_load        double   daily_load.ewma_acute_load on the week's last day
--   ewma_chronic_load      double   daily_load.ewma_chronic_load on the week's last day
--   ewma_acute_chronic_ratio double daily_load.ewma_acute_chronic_ratio on the week's last
--                                   day (null there: not judged)
-- The 10 % rule and cutbacks, with the user's thresholds (config/flags.toml [volume] and
-- the overrides; defaults: 4 reference weeks, +10 %, 20 % cutback, 10 km / 1 h minimum):
--   prior_max_distance_m   double   highest weekly distance of the reference weeks before,
--                                   metres
--   distance_limit_m       double   the 10 % line: (1 + volume_jump_pct / 100) x
--                                   prior_max_distance_m, metres; null when that reference
--                                   is under volume_min_week_km (no rule)
--   prior_max_duration_s   double   highest weekly time of the reference weeks before, s
--   duration_limit_s       double   the same line on time (null under volume_min_week_h)
--   volume_basis           varchar  distance, or time when a run of this week or of the
--                                   reference weeks has no distance
--   volume_change_pct      double   this week vs the highest of the reference weeks, % (on
--                                   volume_basis; null when the reference is under the
--                                   week minimum)
--   is_volume_jump         boolean  the week broke the 10 % line (the volume_jump flag)
--   is_rest_week           boolean  a week off, or nearly: under the week minimum
--   is_cutback             boolean  a lighter week of running: not a rest week, and at
--                                   least cutback_reduction_pct below the highest of the
--                                   reference weeks (with no_cutback's rest weeks, what
--                                   resets the no_cutback count)
--   weeks_without_cutback  integer  weeks in a row without a cutback, to this one (the
--                                   no_cutback flag's value; capped at 2 x
--                                   cutback_max_weeks)
--   flag_codes             varchar[] distinct flag codes of the week (run, day and week
--                                   flags), sorted; [] without flags
--   n_flags                bigint   number of flags of the week
-- A week the runner has not run in after the latest run has no rules yet: those columns
-- are null there (and until the flags are computed).
create or replace view weekly_training as

with weeks_with_runs as (

    select * from weekly_load

),

days as (

    select * from daily_load

),

sessions as (

    select athlete, activity_id, start_time from runs

),

metrics as (

    select athlete, activity_id, easy_s, hr_s from run_metrics

),

flagged as (

    select athlete, week_start, code from flags

),

rules as (

    select * exclude (year) from stg_week_rules

),

week_days as (

    select
        athlete,
        week_start,
        count(*) filter (where runs > 0) as run_days,
        sum(load) filter (where runs > 0) as load,
        avg(coalesce(load, 0)) as mean_daily_load,
        stddev_pop(coalesce(load, 0)) as sd_daily_load,
        max(acute_chronic_ratio) filter (where runs > 0) as peak_daily_acwr,
        arg_max(ewma_acute_load, date) as ewma_acute_load,
        arg_max(ewma_chronic_load, date) as ewma_chronic_load,
        arg_max(ewma_acute_chronic_ratio, date) as ewma_acute_chronic_ratio

    from days
    group by athlete, week_start

),

week_runs as (

    select
        sessions.athlete,
        cast(date_trunc('week', timezone('UTC', sessions.start_time)) as date) as week_start,
        sum(metrics.easy_s) filter (where metrics.hr_s is not null) as easy_s,
        sum(metrics.hr_s) filter (where metrics.easy_s is not null) as hr_s

    from sessions
    left join metrics
        on sessions.athlete = metrics.athlete
        and sessions.activity_id = metrics.activity_id
    group by 1, 2

),

week_flags as (

    select
        athlete,
        week_start,
        list_sort(list_distinct(list(code))) as flag_codes,
        count(*) as n_flags

    from flagged
    group by athlete, week_start

),

joined as (

    select
        week_days.athlete,
        week_days.week_start,
        coalesce(weeks_with_runs.runs, 0) as runs,
        case
            when weeks_with_runs.runs is null then 0.0 else weeks_with_runs.distance_m
        end as distance_m,
        case
            when weeks_with_runs.runs is null then 0.0 else weeks_with_runs.duration_s
        end as duration_s,
        weeks_with_runs.long_run_m,
        weeks_with_runs.avg_hr_bpm,
        week_days.run_days,
        7 - week_days.run_days as rest_days,
        week_runs.easy_s,
        week_runs.hr_s,
        case when weeks_with_runs.runs is null then 0.0 else week_days.load end as load,
        week_days.mean_daily_load,
        week_days.sd_daily_load,
        week_days.peak_daily_acwr,
        week_days.ewma_acute_load,
        week_days.ewma_chronic_load,
        week_days.ewma_acute_chronic_ratio,
        coalesce(week_flags.flag_codes, []) as flag_codes,
        coalesce(week_flags.n_flags, 0) as n_flags

    from week_days
    left join weeks_with_runs
        on week_days.athlete = weeks_with_runs.athlete
        and week_days.week_start = weeks_with_runs.week_start
    left join week_runs
        on week_days.athlete = week_runs.athlete
        and week_days.week_start = week_runs.week_start
    left join week_flags
        on week_days.athlete = week_flags.athlete
        and week_days.week_start = week_flags.week_start

),

windowed as (

    select
        joined.*,
        count(*) filter (where runs > 0) over prior_4 as prior_run_weeks,
        sum(load) over prior_4 as prior_load

    from joined
    window
        prior_4 as (
            partition by athlete order by week_start rows between 4 preceding and 1 preceding
        )

),

judged as (

    select
        windowed.*,
        rules.* exclude (athlete, week_start)

    from windowed
    left join rules
        on windowed.athlete = rules.athlete
        and windowed.week_start = rules.week_start

),

final as (

    select
        athlete,
        week_start,
        runs,
        distance_m,
        duration_s,
        long_run_m,
        avg_hr_bpm,
        run_days,
        rest_days,
        easy_s,
        hr_s,
        case when hr_s > 0 then 100 * easy_s / hr_s end as easy_share_pct,
        load,
        monotony,
        7 * mean_daily_load * monotony as strain,
        case
            when prior_run_weeks = 4 and prior_load > 0 then load / (prior_load / 4)
        end as acute_chronic_ratio,
        peak_daily_acwr,
        ewma_acute_load,
        ewma_chronic_load,
        ewma_acute_chronic_ratio,
        prior_max_distance_m,
        distance_limit_m,
        prior_max_duration_s,
        duration_limit_s,
        volume_basis,
        volume_change_pct,
        is_volume_jump,
        is_rest_week,
        is_cutback,
        weeks_without_cutback,
        flag_codes,
        n_flags

    from judged

)

select * from final
