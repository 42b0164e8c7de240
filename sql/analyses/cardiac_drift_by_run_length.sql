-- Question: Does my heart rate drift more on longer runs?
-- Is the aerobic base enough for the long run yet? Aerobic decoupling (Pa:HR: speed per
-- heartbeat, first vs second half of the steady part; positive = the heart rate drifted up
-- at the same pace) of steady runs, grouped by timer time in 30-minute bands. Under 5 %
-- means the endurance held (Friel; the cardiac_drift flag's limit).
-- param: athlete varchar (default: configured) whose runs (default: the configured athlete)
-- param: since date (default: null) the first UTC day counted (default: from the first run)
-- param: until date (default: null) the last UTC day counted (default: up to the latest run)
-- Columns: athlete, length_band_min (lower edge, minutes), length_band (text), runs,
-- avg_decoupling_pct, max_decoupling_pct, runs_over_5_pct, last_run (UTC date of the
-- latest run in the band), last_decoupling_pct.

with metrics as (

    select * from run_metrics
    where athlete = $athlete
        and date between coalesce(cast($since as date), date '0001-01-01')
        and coalesce(cast($until as date), date '9999-12-31')

),

steady as (

    select
        athlete,
        date,
        start_time,
        aerobic_decoupling_pct,
        cast(floor(duration_s / 1800) * 30 as integer) as length_band_min
    from metrics
    where steady_run
        and aerobic_decoupling_pct is not null
        and duration_s is not null

),

final as (

    select
        athlete,
        length_band_min,
        format('{}-{} min', length_band_min, length_band_min + 30) as length_band,
        count(*) as runs,
        round(avg(aerobic_decoupling_pct), 1) as avg_decoupling_pct,
        round(max(aerobic_decoupling_pct), 1) as max_decoupling_pct,
        count(*) filter (where aerobic_decoupling_pct > 5) as runs_over_5_pct,
        max(date) as last_run,
        round(arg_max(aerobic_decoupling_pct, start_time), 1) as last_decoupling_pct

    from steady
    group by athlete, length_band_min

)

select * from final
order by athlete, length_band_min
