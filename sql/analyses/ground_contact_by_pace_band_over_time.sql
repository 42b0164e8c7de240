-- Question: At the same pace, is my ground contact time getting shorter from month to month?
-- Record samples of runs with ground contact time, in 30 s/km pace bands (2:30 to
-- 8:00 /km), per calendar month (UTC) of the run's start. Pace changes contact time by
-- itself, so compare a band with the same band in other months, never across bands.
-- A band needs 300 samples in a month (5 minutes at one sample a second) to be shown.
-- param: athlete varchar (default: configured) whose runs (default: the configured athlete)
-- param: since date (default: null) the first UTC day counted (default: from the first run)
-- param: until date (default: null) the last UTC day counted (default: up to the latest run)
-- Columns: athlete, month (date, first day of the UTC month), pace_band_s_per_km (lower
-- edge, seconds per km), pace_band (m:ss /km text), runs, samples, avg_stance_time_ms,
-- avg_cadence_spm (both feet), avg_vertical_oscillation_mm, stance_time_change_ms (vs the
-- first month with this band, ms; negative = shorter contact = quicker off the ground).

with samples as (

    select athlete, activity_id, speed_mps, stance_time_ms, cadence_spm,
        vertical_oscillation_mm
    from records
    where athlete = $athlete
        and stance_time_ms is not null
        and speed_mps > 0

),

sessions as (

    select athlete, activity_id, start_time from runs
    where athlete = $athlete
        and cast(timezone('UTC', start_time) as date) between coalesce(cast($since as date), date '0001-01-01')
        and coalesce(cast($until as date), date '9999-12-31')

),

banded as (

    select
        samples.*,
        cast(date_trunc('month', timezone('UTC', sessions.start_time)) as date) as month,
        cast(floor(1000 / samples.speed_mps / 30) * 30 as integer) as pace_band_s_per_km
    from samples
    inner join sessions
        on samples.athlete = sessions.athlete
        and samples.activity_id = sessions.activity_id

),

per_month as (

    select
        athlete,
        month,
        pace_band_s_per_km,
        count(distinct activity_id) as runs,
        count(*) as samples,
        avg(stance_time_ms) as avg_stance_time_ms,
        avg(cadence_spm) as avg_cadence_spm,
        avg(vertical_oscillation_mm) as avg_vertical_oscillation_mm

    from banded
    where pace_band_s_per_km between 150 and 450
    group by athlete, month, pace_band_s_per_km
    having count(*) >= 300

),

final as (

    select
        athlete,
        month,
        pace_band_s_per_km,
        format('{}:{:02d} /km', pace_band_s_per_km // 60, pace_band_s_per_km % 60) as pace_band,
        runs,
        samples,
        round(avg_stance_time_ms, 1) as avg_stance_time_ms,
        round(avg_cadence_spm, 1) as avg_cadence_spm,
        round(avg_vertical_oscillation_mm, 1) as avg_vertical_oscillation_mm,
        round(
            avg_stance_time_ms - first_value(avg_stance_time_ms) over (
                partition by athlete, pace_band_s_per_km order by month
            ),
            1
        ) as stance_time_change_ms

    from per_month

)

select * from final
order by athlete, pace_band_s_per_km, month
