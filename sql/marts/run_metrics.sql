-- run_metrics: form and fatigue metrics of each run (runlake.metrics._metrics).
-- Grain: athlete x activity_id, one row per run (sport = 'running').
-- Columns: every RUN_METRICS column (src/runlake/_schemas.py; README "run_metrics"), then
-- athlete and year. Form averages over the moving samples; *_change_pct last vs first third
-- of the steady part; aerobic_decoupling_pct first vs second half (positive = heart rate
-- drifted up); overstriding_index 1.0 = Garmin's red zone for both contact time and
-- cadence; load in TRIMP units (load_source says hr or duration). Null = not measurable.
create or replace view run_metrics as

with metrics as (

    select * from stg_run_metrics

),

final as (

    select * from metrics

)

select * from final
