-- run_rules: what each run is compared with from the runs before it, as the flags judged
-- it (runlake.flags._recent; computed once, with the user's thresholds: this view does not
-- restate the rules).
-- Grain: athlete x activity_id, one row per run (sport = 'running', one copy of each).
-- Columns: every RUN_RULES column (src/runlake/_schemas.py; docs/views.md "run_rules"),
-- then athlete and year:
--   long_run_basis, prior_longest_m, prior_longest_s, long_run_change_pct: the run against
--     the longest run of the 30 days before (long_run_spike_days); the long_run_spike flag
--     fires over +10 %, an alert over +100 %. Null: no run in those days.
--   baseline_pace_band_s_per_km, baseline_runs, baseline_band_s: the pace band compared
--     (lower edge, 15 s/km wide by default) and the baseline runs of the 90 days before in it
--   band_<value>, usual_<value>, spread_<value>, <value>_departure_sd for cadence (spm),
--     stance_time (ms), vertical_oscillation (mm): the run's value in the band, the median
--     of the baseline runs' values, their robust SD and the departure in SDs; the
--     form_off_baseline flag fires beyond 3 SD in the heavy-legs direction. Null usual: no
--     baseline (too few runs at that pace).
create or replace view run_rules as

with judged as (

    select * from stg_run_rules

),

final as (

    select * from judged

)

select * from final
