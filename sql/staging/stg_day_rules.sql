-- stg_day_rules: the day rules as the flags judged them (runlake.flags.day_rules_of).
-- Grain: athlete x date (every day from the first run's week to the last run's).
-- Source: raw_day_rules (Parquet, partitioned athlete=/year=). Only select/rename/cast.
-- Units: SI and UTC (see src/runlake/_schemas.py: DAY_RULES).
create or replace view stg_day_rules as

with source as (

    select * from raw_day_rules

),

renamed as (

    select
        * exclude (year),
        cast(year as integer) as year
    from source

)

select * from renamed
