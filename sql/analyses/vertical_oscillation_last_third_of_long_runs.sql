-- Question: Does my vertical oscillation rise in the last third of my long runs?
-- Bouncing more as the legs tire. Long runs are runs of at least 60 minutes of timer time
-- (the long_run_fuelling flag's limit). For each, the time-weighted mean vertical
-- oscillation of the first and the last third of the moving time after a 10-minute
-- warm-up. Approximation: moving = speed of at least 1 m/s (or no speed recorded); a gap
-- of more than 15 s between samples is a pause and does not count.
-- run_metrics.vertical_oscillation_change_pct is the exact value on the steady part (it
-- also leaves out 60 s after each pause and off-pace samples; null when the run is not
-- steady); both are shown.
-- param: athlete varchar (default: configured) whose runs (default: the configured athlete)
-- param: since date (default: null) the first UTC day counted (default: from the first run)
-- param: until date (default: null) the last UTC day counted (default: up to the latest run)
-- Columns: athlete, start_time (UTC), distance_km, duration_min, vo_first_third_mm,
-- vo_last_third_mm, vo_change_pct (last vs first third, %), steady_vo_change_pct (the
-- metric, %), rises (vo_change_pct over 5 %, the form_fade flag's limit for oscillation).

with long_runs as (

    select athlete, activity_id, start_time, distance_m, duration_s
    from runs
    where athlete = $athlete
        and duration_s >= 3600
        and cast(timezone('UTC', start_time) as date) between coalesce(cast($since as date), date '0001-01-01')
        and coalesce(cast($until as date), date '9999-12-31')

),

metrics as (

    select athlete, activity_id, vertical_oscillation_change_pct from run_metrics
    where athlete = $athlete

),

samples as (

    select athlete, activity_id, "timestamp", elapsed_s, speed_mps, vertical_oscillation_mm
    from records
    where athlete = $athlete

),

timed as (

    select
        samples.*,
        samples.elapsed_s - lag(samples.elapsed_s) over (
            partition by samples.athlete, samples.activity_id order by samples."timestamp"
        ) as dt_s
    from samples
    inner join long_runs
        on samples.athlete = long_runs.athlete
        and samples.activity_id = long_runs.activity_id

),

moving as (

    select
        *,
        sum(moving_s) over (
            partition by athlete, activity_id order by "timestamp" rows unbounded preceding
        ) as moving_so_far_s,
        sum(moving_s) over (partition by athlete, activity_id) as moving_total_s
    from (
        select
            *,
            case
                when coalesce(speed_mps >= 1, true) and dt_s <= 15 then dt_s else 0
            end as moving_s
        from timed
    )

),

thirds as (

    select
        *,
        case
            when moving_so_far_s <= 600 then 0
            when moving_so_far_s <= 600 + (moving_total_s - 600) / 3 then 1
            when moving_so_far_s > 600 + 2 * (moving_total_s - 600) / 3 then 3
            else 2
        end as third
    from moving
    where moving_total_s > 600

),

per_run as (

    select
        athlete,
        activity_id,
        sum(vertical_oscillation_mm * moving_s) filter (where third = 1)
            / sum(moving_s) filter (where third = 1 and vertical_oscillation_mm is not null)
            as vo_first_third_mm,
        sum(vertical_oscillation_mm * moving_s) filter (where third = 3)
            / sum(moving_s) filter (where third = 3 and vertical_oscillation_mm is not null)
            as vo_last_third_mm
    from thirds
    group by athlete, activity_id

),

final as (

    select
        long_runs.athlete,
        long_runs.start_time,
        round(long_runs.distance_m / 1000, 2) as distance_km,
        round(long_runs.duration_s / 60) as duration_min,
        round(per_run.vo_first_third_mm, 1) as vo_first_third_mm,
        round(per_run.vo_last_third_mm, 1) as vo_last_third_mm,
        round((per_run.vo_last_third_mm / per_run.vo_first_third_mm - 1) * 100, 1)
            as vo_change_pct,
        round(metrics.vertical_oscillation_change_pct, 1) as steady_vo_change_pct,
        (per_run.vo_last_third_mm / per_run.vo_first_third_mm - 1) * 100 > 5 as rises

    from long_runs
    inner join per_run
        on long_runs.athlete = per_run.athlete
        and long_runs.activity_id = per_run.activity_id
    left join metrics
        on long_runs.athlete = metrics.athlete
        and long_runs.activity_id = metrics.activity_id
    where per_run.vo_first_third_mm > 0

)

select * from final
order by athlete, start_time
