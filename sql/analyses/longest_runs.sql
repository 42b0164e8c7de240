-- Question: What are my longest runs, and how fast and hard were they?
-- param: athlete varchar (default: configured) whose runs (default: the configured athlete)
-- param: since date (default: null) the first UTC day counted (default: from the first run)
-- param: until date (default: null) the last UTC day counted (default: up to the latest run)
-- param: top integer (default: 10) how many runs
-- Columns: athlete, rank, start_time (UTC), sub_sport, distance_km, duration (h:mm:ss),
-- pace (m:ss /km over timer time), avg_hr_bpm, total_ascent_m.

with ranked as (

    select
        *,
        row_number() over (
            partition by athlete order by distance_m desc, start_time
        ) as rank
    from runs
    where athlete = $athlete
        and distance_m is not null
        and cast(timezone('UTC', start_time) as date) between coalesce(cast($since as date), date '0001-01-01')
        and coalesce(cast($until as date), date '9999-12-31')

),

final as (

    select
        athlete,
        rank,
        start_time,
        sub_sport,
        round(distance_m / 1000, 2) as distance_km,
        cast(to_seconds(cast(round(duration_s) as bigint)) as varchar) as duration,
        case
            when duration_s > 0 and distance_m > 0 then format(
                '{}:{:02d} /km',
                cast(floor(duration_s / (distance_m / 1000) / 60) as integer),
                cast(floor(duration_s / (distance_m / 1000)) as integer) % 60
            )
        end as pace,
        round(avg_hr_bpm) as avg_hr_bpm,
        round(total_ascent_m) as total_ascent_m

    from ranked
    where rank <= $top

)

select * from final
order by athlete, rank
