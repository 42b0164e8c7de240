-- run_summary: one row per run with its pace, load, form and fatigue metrics and its flags:
-- the run list of a dashboard, without joining three views.
-- Grain: athlete x activity_id (every run of the runs view; the metrics are null for a run
-- whose metrics are not computed yet).
-- Sources: runs, run_metrics, run_rules, flags (run-level flags: activity_id set).
-- Columns:
--   athlete                          varchar
--   activity_id                      varchar
--   start_time                       timestamptz  UTC start
--   date                             date         UTC date of the start
--   week_start                       date         Monday of its ISO week (UTC)
--   sub_sport                        varchar      generic, trail, treadmill, track...
--   source_path                      varchar      the file as given on ingest
--   distance_m                       double       metres
--   duration_s                       double       timer seconds
--   pace_s_per_km                    double       duration_s per km (null without distance)
--   avg_hr_bpm, max_hr_bpm           double       beats/min (the device's values)
--   total_ascent_m                   double       metres
--   load                             double       run_metrics.load, Edwards TRIMP units
--   load_source                      varchar      hr or duration
--   easy_share_pct                   double       100 x easy_s / hr_s, % of heart-rate time
--                                                 at or below the easy ceiling
--   cadence_spm                      double       steps/min (both feet), running samples
--   stance_time_ms                   double       ground contact time, ms
--   stance_time_balance_pct          double       ground contact balance, % on the left
--   vertical_oscillation_mm          double       mm
--   vertical_ratio_pct               double       %
--   step_length_mm                   double       mm (step_length_source: device/derived)
--   step_length_source               varchar
--   overstriding_index               double       1.0 = Garmin's red zone, pace-adjusted
--   dynamics_sensor                  varchar      chest or pod
--   steady_run                       boolean      long, even-paced run (form fade, drift)
--   cadence_change_pct               double       last vs first third of the steady part, %
--   stance_time_change_pct           double       idem, ground contact (pace-adjusted), %
--   vertical_oscillation_change_pct  double       idem, vertical oscillation, %
--   aerobic_decoupling_pct           double       Pa:HR, 2nd vs 1st half; + = HR drift, %
--   temperature_c                    double       mean temperature the watch read, °C
--   long_run_change_pct              double       vs the longest run of the 30 days
--                                                 before, % (run_rules; null: no run)
--   flag_codes                       varchar[]    the run's flag codes, sorted ([] if none)
--   n_flags                          bigint       number of run flags
--   year                             integer      partition year
create or replace view run_summary as

with sessions as (

    select * from runs

),

metrics as (

    select * from run_metrics

),

rules as (

    select athlete, activity_id, long_run_change_pct from run_rules

),

run_flags as (

    select athlete, activity_id, code
    from flags
    where activity_id is not null

),

flag_lists as (

    select
        athlete,
        activity_id,
        list_sort(list(code)) as flag_codes,
        count(*) as n_flags

    from run_flags
    group by athlete, activity_id

),

final as (

    select
        sessions.athlete,
        sessions.activity_id,
        sessions.start_time,
        cast(timezone('UTC', sessions.start_time) as date) as date,
        cast(date_trunc('week', timezone('UTC', sessions.start_time)) as date) as week_start,
        sessions.sub_sport,
        sessions.source_path,
        sessions.distance_m,
        sessions.duration_s,
        case
            when sessions.distance_m > 0 then sessions.duration_s / (sessions.distance_m / 1000)
        end as pace_s_per_km,
        sessions.avg_hr_bpm,
        sessions.max_hr_bpm,
        sessions.total_ascent_m,
        metrics.load,
        metrics.load_source,
        case when metrics.hr_s > 0 then 100 * metrics.easy_s / metrics.hr_s end
            as easy_share_pct,
        metrics.cadence_spm,
        metrics.stance_time_ms,
        metrics.stance_time_balance_pct,
        metrics.vertical_oscillation_mm,
        metrics.vertical_ratio_pct,
        metrics.step_length_mm,
        metrics.step_length_source,
        metrics.overstriding_index,
        metrics.dynamics_sensor,
        metrics.steady_run,
        metrics.cadence_change_pct,
        metrics.stance_time_change_pct,
        metrics.vertical_oscillation_change_pct,
        metrics.aerobic_decoupling_pct,
        metrics.temperature_c,
        rules.long_run_change_pct,
        coalesce(flag_lists.flag_codes, []) as flag_codes,
        coalesce(flag_lists.n_flags, 0) as n_flags,
        sessions.year

    from sessions
    left join metrics
        on sessions.athlete = metrics.athlete
        and sessions.activity_id = metrics.activity_id
    left join rules
        on sessions.athlete = rules.athlete
        and sessions.activity_id = rules.activity_id
    left join flag_lists
        on sessions.athlete = flag_lists.athlete
        and sessions.activity_id = flag_lists.activity_id

)

select * from final
