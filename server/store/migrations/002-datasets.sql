-- Declared datasets (main.ts declares mnist in it). Idempotent: data dirs made after datasets
-- existed but before versioned migrations already have the table.
create table if not exists datasets (
  name text primary key,
  spec jsonb not null,
  created_at bigint not null,
  updated_at bigint not null,
  held_out_hash text,
  held_out_examples integer,
  held_out_labels jsonb,
  held_out_uploaded_at bigint
);
