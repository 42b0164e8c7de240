-- files: one row per ingested source file (the commit markers), with its athlete.
-- Grain: athlete x file_sha256.
-- Columns: every column of the FILES schema (src/runlake/_schemas.py), in its order, then
-- athlete (varchar). status: ingested, warning, skipped or error. year: partition year of
-- the file's activities (null if none). size_bytes bytes; ingested_at timestamptz UTC.
create or replace view files as

with markers as (

    select * from stg_files

),

final as (

    select
        file_sha256,
        source_path,
        source_format,
        size_bytes,
        status,
        file_type,
        n_activities,
        n_records,
        year,
        ingested_at,
        athlete

    from markers

)

select * from final
