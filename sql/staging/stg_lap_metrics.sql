-- stg_lap_metrics: the lap_metrics table as stored.
-- Grain: athlete x activity_id x lap_index.
-- Source: raw_lap_metrics (Parquet, partitioned athlete=/year=). Only select/rename/cast.
-- Units: SI and UTC (see src/runlake/_schemas.py: LAP_METRICS).
create or replace view stg_lap_metrics as

with source as (

    select * from raw_lap_metrics

),

renamed as (

    select
        * exclude (year),
        cast(year as integer) as year
    from source

)

select * from renamed
