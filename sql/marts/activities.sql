-- activities: one row per session (activity) of any sport.
-- Grain: athlete x activity_id. activity_id = first 16 hex of the file's sha256 + '-' +
-- session index, so a multisport file gives several rows.
-- Columns: every column of the ACTIVITIES schema (src/runlake/_schemas.py), in its order,
-- then athlete (varchar) and year (integer, UTC year of the start; the partition).
-- Units: SI and UTC, the unit in each name: *_time timestamptz UTC, *_s seconds,
-- *_m metres, *_mps m/s, *_bpm beats/min, *_spm steps/min (both feet), *_rpm rev/min,
-- *_w watts, *_mm millimetres, *_ms milliseconds, *_pct percent, *_kcal kcal.
-- Missing values are null, never zero.
create or replace view activities as

with sessions as (

    select * from stg_activities

),

final as (

    select
        activity_id,
        file_sha256,
        session_index,
        source_path,
        source_format,
        sport,
        sub_sport,
        device_manufacturer,
        device_product,
        end_time,
        start_time,
        duration_s,
        elapsed_s,
        distance_m,
        avg_speed_mps,
        max_speed_mps,
        avg_hr_bpm,
        max_hr_bpm,
        avg_cadence_spm,
        avg_cadence_rpm,
        avg_power_w,
        avg_vertical_oscillation_mm,
        avg_vertical_ratio_pct,
        avg_stance_time_ms,
        avg_stance_time_balance_pct,
        avg_step_length_mm,
        total_ascent_m,
        total_descent_m,
        total_calories_kcal,
        n_records,
        has_running_dynamics,
        has_gps,
        developer_fields,
        ingested_at,
        athlete,
        year

    from sessions

)

select * from final
