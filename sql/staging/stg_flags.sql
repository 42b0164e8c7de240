-- stg_flags: the flags table as stored.
-- Grain: athlete x flag (run flags carry activity_id; week and day flags have it null).
-- Source: raw_flags (Parquet, partitioned athlete=/year=). Only select/rename/cast.
-- Units: SI and UTC (see src/runlake/_schemas.py: FLAGS).
create or replace view stg_flags as

with source as (

    select * from raw_flags

),

renamed as (

    select
        * exclude (year),
        cast(year as integer) as year
    from source

)

select * from renamed
