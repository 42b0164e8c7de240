-- flags: what points to heavy legs, run by run and week by week (runlake.flags._flags).
-- Grain: one row per flag. Run-level codes (activity_id set): overstriding,
-- high_vertical_oscillation, ground_contact_imbalance, form_fade, form_off_baseline,
-- cardiac_drift, long_run_spike, and the notes (severity info) long_run_fuelling and
-- hydration. Week/day-level codes (activity_id null): volume_jump, no_cutback,
-- consecutive_days, low_easy_share, acwr_high, monotony_high.
-- Columns: activity_id, date (run date, day, or last run day of the week; UTC),
-- week_start (Monday, UTC), code, severity (info, warning, alert), value and threshold (in
-- unit, machine form: mm, %, ratio, index, min, days, weeks, °C; runlake.flag_headline says
-- them as a runner does), unit, message (what was seen, the likely cause, the advice),
-- athlete, year.
create or replace view flags as

with flagged as (

    select * from stg_flags

),

final as (

    select * from flagged

)

select * from final
