-- stg_ingest_errors: one row per problem met while ingesting a file.
-- Grain: athlete x file_sha256 x problem.
-- Source: raw_ingest_errors (Parquet, partitioned athlete=). Only select/rename/cast.
-- Units: byte_offset in bytes from the start of the file; at is UTC.
create or replace view stg_ingest_errors as

with source as (

    select * from raw_ingest_errors

),

renamed as (

    select
        athlete,
        file_sha256,
        source_path,
        severity,
        stage,
        message,
        byte_offset,
        "at"

    from source

)

select * from renamed
