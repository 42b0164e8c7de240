-- stg_duplicates: the activities that are copies of another activity of the athlete
-- (runlake.metrics.find_duplicates): the same session from a damaged copy, a second
-- export or a second device. Activities not listed are primaries.
-- Grain: athlete x activity_id (one row per duplicate).
-- Source: raw_duplicates (Parquet, partitioned athlete=/year=, the activity's year). Only
-- select/rename/cast.
-- Columns: activity_id (the copy), duplicate_of (the primary it is a copy of),
-- duplicate_reason (the overlap seen, and why the primary is preferred), athlete, year.
create or replace view stg_duplicates as

with source as (

    select * from raw_duplicates

),

renamed as (

    select
        activity_id,
        duplicate_of,
        duplicate_reason,
        athlete,
        cast(year as integer) as year

    from source

)

select * from renamed
