-- laps: one row per lap, with its athlete, its start date and its activity's sport.
-- Grain: athlete x activity_id x lap_index.
-- Columns: every column of the LAPS schema (src/runlake/_schemas.py), in its order, then
-- athlete (varchar), year (integer, the activity's UTC start year; the partition),
-- start_date (date, UTC date of the lap's start_time), sport and sub_sport (of the
-- activity; null if the activity row is missing) and activity_start_time (timestamptz UTC);
-- then the lap's form metrics (runlake.metrics._metrics.lap_metrics, running laps only): moving_s,
-- form_step_length_mm (device, else speed / step rate), step_length_source,
-- overstriding_index.
-- Units: SI and UTC as in activities (*_s seconds, *_m metres, *_mps m/s, *_bpm, *_spm
-- steps/min both feet, *_w watts, *_mm, *_ms, *_pct, *_kcal).
create or replace view laps as

with laps_raw as (

    select * from stg_laps

),

sessions as (

    select athlete, activity_id, sport, sub_sport, start_time as activity_start_time
    from stg_activities

),

form as (

    select * from stg_lap_metrics

),

final as (

    select
        laps_raw.activity_id,
        laps_raw.lap_index,
        laps_raw.start_time,
        laps_raw.duration_s,
        laps_raw.elapsed_s,
        laps_raw.distance_m,
        laps_raw.avg_speed_mps,
        laps_raw.max_speed_mps,
        laps_raw.avg_hr_bpm,
        laps_raw.max_hr_bpm,
        laps_raw.avg_cadence_spm,
        laps_raw.avg_cadence_rpm,
        laps_raw.avg_power_w,
        laps_raw.avg_vertical_oscillation_mm,
        laps_raw.avg_vertical_ratio_pct,
        laps_raw.avg_stance_time_ms,
        laps_raw.avg_stance_time_balance_pct,
        laps_raw.avg_step_length_mm,
        laps_raw.total_ascent_m,
        laps_raw.total_descent_m,
        laps_raw.total_calories_kcal,
        laps_raw.athlete,
        laps_raw.year,
        cast(timezone('UTC', laps_raw.start_time) as date) as start_date,
        sessions.sport,
        sessions.sub_sport,
        sessions.activity_start_time,
        form.moving_s,
        form.step_length_mm as form_step_length_mm,
        form.step_length_source,
        form.overstriding_index

    from laps_raw
    left join sessions
        on laps_raw.athlete = sessions.athlete
        and laps_raw.activity_id = sessions.activity_id
    left join form
        on laps_raw.athlete = form.athlete
        and laps_raw.activity_id = form.activity_id
        and laps_raw.lap_index = form.lap_index

)

select * from final
