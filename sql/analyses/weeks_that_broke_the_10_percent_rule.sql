-- Question: Which of my weeks broke the 10 % rule, and what followed?
-- A week breaks it when its volume is more than 10 % above the highest of the 4 weeks
-- before (distance, or time when a run has no distance; weekly_training.is_volume_jump,
-- the volume_jump flag's rule).
-- For each such week: how big the jump was, its load, and the next week (did the volume
-- come down, did the load ratio climb, which flags appeared).
-- param: athlete varchar (default: configured) whose runs (default: the configured athlete)
-- param: since date (default: null) the first week counted: the one holding this UTC day
-- param: until date (default: null) the last week counted: the one holding this UTC day
-- Columns: athlete, week_start (Monday, UTC), distance_km, prior_max_km (highest of the 4
-- weeks before), limit_km (the 10 % line), change_pct (on volume_basis), volume_basis,
-- load (TRIMP), acute_chronic_ratio (weekly), flag_codes (that week), next_week_start,
-- next_distance_km, next_change_pct (next week vs this one, %), next_is_cutback (a
-- lighter week of running), next_is_rest_week (a week off, or nearly), next_load,
-- next_acute_chronic_ratio, next_peak_daily_acwr (the acwr_high flag's ratio),
-- next_flag_codes (the flags of the week after).

with weeks as (

    select * from weekly_training
    where athlete = $athlete

),

with_next as (

    select
        *,
        lead(week_start) over next_week as next_week_start,
        lead(distance_m) over next_week as next_distance_m,
        lead(is_cutback) over next_week as next_is_cutback,
        lead(is_rest_week) over next_week as next_is_rest_week,
        lead(load) over next_week as next_load,
        lead(acute_chronic_ratio) over next_week as next_acute_chronic_ratio,
        lead(peak_daily_acwr) over next_week as next_peak_daily_acwr,
        lead(flag_codes) over next_week as next_flag_codes
    from weeks
    window next_week as (partition by athlete order by week_start)

),

final as (

    select
        athlete,
        week_start,
        round(distance_m / 1000, 2) as distance_km,
        round(prior_max_distance_m / 1000, 2) as prior_max_km,
        round(distance_limit_m / 1000, 2) as limit_km,
        round(volume_change_pct, 1) as change_pct,
        volume_basis,
        round(load) as load,
        round(acute_chronic_ratio, 2) as acute_chronic_ratio,
        flag_codes,
        next_week_start,
        round(next_distance_m / 1000, 2) as next_distance_km,
        case
            when distance_m > 0 then round((next_distance_m / distance_m - 1) * 100, 1)
        end as next_change_pct,
        next_is_cutback,
        next_is_rest_week,
        round(next_load) as next_load,
        round(next_acute_chronic_ratio, 2) as next_acute_chronic_ratio,
        round(next_peak_daily_acwr, 2) as next_peak_daily_acwr,
        next_flag_codes

    from with_next
    where is_volume_jump
        and week_start + 6 >= coalesce(cast($since as date), date '0001-01-01')
        and week_start <= coalesce(cast($until as date), date '9999-12-31')

)

select * from final
order by athlete, week_start
