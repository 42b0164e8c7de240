-- records: one row per record sample of any sport (typically one per second).
-- Grain: athlete x activity_id x timestamp. Join to activities / runs on
-- (athlete, activity_id).
-- Columns: every column of the RECORDS schema (src/runlake/_schemas.py), in its order,
-- then athlete (varchar) and year (integer, the activity's UTC start year; the partition:
-- filter on athlete and year to read fewer files).
-- Units: timestamp timestamptz UTC; elapsed_s seconds since the activity's start;
-- distance_m metres (cumulative); speed_mps m/s; heart_rate_bpm beats/min; cadence_spm
-- steps/min (both feet); cadence_rpm rev/min; *_w watts; *_mm millimetres; stance_time_ms
-- ms; *_pct percent; *_deg WGS84 degrees; altitude_m metres; temperature_c °C;
-- leg_spring_stiffness_kn_m kN/m. Missing values are null, never zero.
create or replace view records as

with samples as (

    select * from stg_records

),

final as (

    select
        activity_id,
        "timestamp",
        elapsed_s,
        distance_m,
        speed_mps,
        heart_rate_bpm,
        cadence_spm,
        cadence_rpm,
        power_w,
        vertical_oscillation_mm,
        stance_time_ms,
        stance_time_balance_pct,
        step_length_mm,
        vertical_ratio_pct,
        latitude_deg,
        longitude_deg,
        altitude_m,
        temperature_c,
        form_power_w,
        leg_spring_stiffness_kn_m,
        air_power_w,
        athlete,
        year

    from samples

)

select * from final
