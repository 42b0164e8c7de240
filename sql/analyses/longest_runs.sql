-- Question: what are each athlete's 10 longest runs, and how fast and hard were they?
-- Columns: athlete, rank, start_time (UTC), sub_sport, distance_km, duration (h:mm:ss),
-- pace (m:ss /km over timer time), avg_hr_bpm, total_ascent_m.

with ranked as (

    select
        *,
        row_number() over (
            partition by athlete order by distance_m desc, start_time
        ) as rank
    from runs
    where distance_m is not null

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
    where rank <= 10

)

select * from final
order by athlete, rank
