-- activities: one row per session (activity) of any sport.
-- Grain: athlete x activity_id. activity_id = first 16 hex of the file's sha256 + '-' +
-- session index, so a multisport file gives several rows.
-- Columns: every column of the ACTIVITIES schema (src/runlake/_schemas.py), in its order,
-- then duplicate_of (varchar: null for a primary, else the activity_id of the primary this
-- one is a copy of), duplicate_reason (varchar: the overlap seen and why the primary is
-- preferred; null for a primary), athlete (varchar) and year (integer, UTC year of the
-- start; the partition). Every activity is here, copies too; runs and the marts count
-- the primaries only (docs/views.md, "One copy of each run").
-- Units: SI and UTC, the unit in each name: *_time timestamptz UTC, *_s seconds,
-- *_m metres, *_mps m/s, *_bpm beats/min, *_spm steps/min (both feet), *_rpm rev/min,
-- *_w watts, *_mm millimetres, *_ms milliseconds, *_pct percent, *_kcal kcal.
-- Missing values are null, never zero.
create or replace view activities as

with sessions as (

    select * from stg_activities

),

copies as (

    select athlete, activity_id, duplicate_of, duplicate_reason from stg_duplicates

),

final as (

    select
        sessions.activity_id,
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
        copies.duplicate_of,
        copies.duplicate_reason,
        sessions.athlete,
        year

    from sessions
    left join copies
        on sessions.athlete = copies.athlete
        and sessions.activity_id = copies.activity_id

)

select * from final
