-- ingest_errors: one row per problem met while ingesting a file, with its athlete.
-- Grain: athlete x file_sha256 x problem.
-- Columns: every column of the INGEST_ERRORS schema (src/runlake/_schemas.py), in its
-- order, then athlete (varchar).
-- severity: error (file rejected), warning (ingested with a problem), skipped (not an
-- activity). stage: read, decode, normalize or store. byte_offset: bytes from the start of
-- the file (null if unknown). at: timestamptz UTC.
create or replace view ingest_errors as

with problems as (

    select * from stg_ingest_errors

),

final as (

    select
        source_path,
        file_sha256,
        severity,
        stage,
        message,
        byte_offset,
        "at",
        athlete

    from problems

)

select * from final
