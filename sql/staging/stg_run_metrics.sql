-- stg_run_metrics: the run_metrics table as stored.
-- Grain: athlete x activity_id (one row per run).
-- Source: raw_run_metrics (Parquet, partitioned athlete=/year=). Only select/rename/cast.
-- Units: SI and UTC (see src/runlake/_schemas.py: RUN_METRICS).
create or replace view stg_run_metrics as

with source as (

    select * from raw_run_metrics

),

renamed as (

    select
        * exclude (year),
        cast(year as integer) as year
    from source

)

select * from renamed
