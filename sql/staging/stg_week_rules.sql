-- stg_week_rules: the week rules as the flags judged them (runlake.flags.week_rules_table).
-- Grain: athlete x week_start (every week from the first run's week to the last run's).
-- Source: raw_week_rules (Parquet, partitioned athlete=/year=). Only select/rename/cast.
-- Units: SI and UTC (see src/runlake/_schemas.py: WEEK_RULES).
create or replace view stg_week_rules as

with source as (

    select * from raw_week_rules

),

renamed as (

    select
        * exclude (year),
        cast(year as integer) as year
    from source

)

select * from renamed
