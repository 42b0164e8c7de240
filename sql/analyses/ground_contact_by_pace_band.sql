-- Question: How does my ground contact time change with pace?
-- Ground contact time (and cadence, vertical oscillation) of the record samples of runs,
-- grouped in 30 s/km pace bands (2:30 to 8:00 /km).
-- param: athlete varchar (default: configured) whose runs (default: the configured athlete)
-- param: since date (default: null) the first UTC day counted (default: from the first run)
-- param: until date (default: null) the last UTC day counted (default: up to the latest run)
-- Columns: athlete, pace_band_s_per_km (lower edge of the band, seconds per km),
-- pace_band (m:ss /km text), samples, avg_stance_time_ms, avg_stance_balance_pct
-- (% left foot), avg_cadence_spm (both feet), avg_vertical_oscillation_mm.

with samples as (

    select athlete, activity_id, speed_mps, stance_time_ms, stance_time_balance_pct,
        cadence_spm, vertical_oscillation_mm
    from records
    where athlete = $athlete
        and stance_time_ms is not null
        and speed_mps > 0

),

run_ids as (

    select athlete, activity_id from runs
    where athlete = $athlete
        and cast(timezone('UTC', start_time) as date) between coalesce(cast($since as date), date '0001-01-01')
        and coalesce(cast($until as date), date '9999-12-31')

),

banded as (

    select
        samples.*,
        cast(floor(1000 / samples.speed_mps / 30) * 30 as integer) as pace_band_s_per_km
    from samples
    inner join run_ids
        on samples.athlete = run_ids.athlete
        and samples.activity_id = run_ids.activity_id

),

final as (

    select
        athlete,
        pace_band_s_per_km,
        format('{}:{:02d} /km', pace_band_s_per_km // 60, pace_band_s_per_km % 60) as pace_band,
        count(*) as samples,
        round(avg(stance_time_ms), 1) as avg_stance_time_ms,
        round(avg(stance_time_balance_pct), 1) as avg_stance_balance_pct,
        round(avg(cadence_spm), 1) as avg_cadence_spm,
        round(avg(vertical_oscillation_mm), 1) as avg_vertical_oscillation_mm

    from banded
    where pace_band_s_per_km between 150 and 450
    group by athlete, pace_band_s_per_km

)

select * from final
order by athlete, pace_band_s_per_km
