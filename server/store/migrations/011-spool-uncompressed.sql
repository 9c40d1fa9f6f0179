-- Float32 updates and float64 sums do not compress: pglz only spent PostgreSQL's CPU on them
-- (bench:spool: 161 → 77 ms of server CPU per 4.8 MB row with EXTERNAL). Stored out of line,
-- uncompressed, as the blobs table is (003).
alter table spool alter column bytes set storage external;
alter table partials alter column sum set storage external;
