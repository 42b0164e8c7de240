-- stg_activities: one row per session (activity) of any sport, as stored.
-- Grain: athlete x activity_id (a file may hold several sessions).
-- Source: raw_activities (Parquet, partitioned athlete=/year=). Only select/rename/cast.
-- Units: SI and UTC; the unit is in every column name (see src/runlake/_schemas.py).
create or replace view stg_activities as

with source as (

    select * from raw_activities

),

renamed as (

    select
        -- ids
        activity_id,
        file_sha256,
        session_index,
        athlete,
        cast(year as integer) as year,

        -- provenance
        source_path,
        source_format,
        sport,
        sub_sport,
        device_manufacturer,
        device_product,

        -- time (UTC)
        start_time,
        end_time,
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
        total_calories_kcal,

        -- content
        n_records,
        has_running_dynamics,
        has_gps,
        developer_fields,
        ingested_at

    from source

)

select * from renamed
