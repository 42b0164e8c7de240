-- stg_records: one row per record sample (typically one per second).
-- Grain: athlete x activity_id x timestamp.
-- Source: raw_records (Parquet, partitioned athlete=/year=; year is the activity's).
-- Only select/rename/cast. Units: SI and UTC (see src/runlake/_schemas.py).
create or replace view stg_records as

with source as (

    select * from raw_records

),

renamed as (

    select
        -- ids
        activity_id,
        athlete,
        cast(year as integer) as year,

        -- time (UTC)
        "timestamp",
        elapsed_s,

        -- motion
        distance_m,
        speed_mps,
        heart_rate_bpm,
        cadence_spm,
        cadence_rpm,
        power_w,

        -- running dynamics
        vertical_oscillation_mm,
        stance_time_ms,
        stance_time_balance_pct,
        step_length_mm,
        vertical_ratio_pct,

        -- position and environment
        latitude_deg,
        longitude_deg,
        altitude_m,
        temperature_c,

        -- Stryd developer fields
        form_power_w,
        leg_spring_stiffness_kn_m,
        air_power_w

    from source

)

select * from renamed
