-- stg_run_rules: the run rules that read the runs before, as the flags judged them
-- (runlake.flags.run_rules_table): the longest run of the 30 days before each run, and its
-- form against the runner's usual at the same pace.
-- Grain: athlete x activity_id (one row per run).
-- Source: raw_run_rules (Parquet, partitioned athlete=/year=). Only select/rename/cast.
-- Units: SI and UTC (see src/runlake/_schemas.py: RUN_RULES).
create or replace view stg_run_rules as

with source as (

    select * from raw_run_rules

),

renamed as (

    select
        * exclude (year),
        cast(year as integer) as year
    from source

)

select * from renamed
