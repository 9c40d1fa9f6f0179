-- Content-addressed blobs (model checkpoints, held-out sets), shared by every replica in
-- PostgreSQL mode (server/blobs/postgres.ts). The key is the SHA-256 of the bytes, so a row is
-- never updated: storing the same bytes twice is a no-op.
create table if not exists blobs (
  hash text primary key check (hash ~ '^[0-9a-f]{64}$'),
  bytes bytea not null
);
-- Weights do not compress: out of line without pglz saves the attempt on every write.
alter table blobs alter column bytes set storage external;
