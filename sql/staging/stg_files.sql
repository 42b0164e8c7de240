-- stg_files: one row per ingested source file (the commit markers).
-- Grain: athlete x file_sha256.
-- Source: raw_files (Parquet, partitioned athlete=; year is a column here, the partition
-- year of the file's activities, null if none). Only select/rename/cast.
-- Units: size_bytes in bytes; ingested_at is UTC.
create or replace view stg_files as

with source as (

    select * from raw_files

),

renamed as (

    select
        athlete,
        file_sha256,
        source_path,
        source_format,
        size_bytes,
        status,
        file_type,
        n_activities,
        n_records,
        year,
        ingested_at

    from source

)

select * from renamed
