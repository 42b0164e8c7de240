-- stg_laps: one row per lap.
-- Grain: athlete x activity_id x lap_index.
-- Source: raw_laps (Parquet, partitioned athlete=/year=; year is the activity's).
-- Only select/rename/cast. Units: SI and UTC (see src/runlake/_schemas.py).
create or replace view stg_laps as

with source as (

    select * from raw_laps

),

renamed as (

    select
        -- ids
        activity_id,
        lap_index,
        athlete,
        cast(year as integer) as year,

        -- time (UTC)
        start_time,
        duration_s,
        elapsed_s,

        -- summary
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
        total_calories_kcal

    from source

)

select * from renamed
