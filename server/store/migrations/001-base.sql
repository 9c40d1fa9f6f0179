-- The schema as it stood before versioned migrations: every statement idempotent (if not
-- exists), so a data dir made by an older coordinator, which has these tables but no
-- schema_migrations, upgrades by running it.
create table if not exists tasks (
  id text primary key,
  spec jsonb not null,
  status text not null,
  model_hash text not null,
  round integer not null,
  committed_rounds integer not null,
  created_at bigint not null,
  updated_at bigint not null,
  error text
);
create table if not exists rounds (
  task_id text not null references tasks(id) on delete cascade,
  round integer not null,
  status text not null,
  base_model text not null,
  model text,
  selected integer not null,
  reported integer not null,
  late integer not null,
  rejected integer not null,
  dropped integer not null,
  examples bigint not null,
  accuracy double precision,
  loss double precision,
  started_at bigint not null,
  deadline_at bigint,
  closed_at bigint,
  primary key (task_id, round)
);
alter table tasks add column if not exists optimizer_state text;
alter table rounds add column if not exists bytes_up bigint not null default 0;
alter table rounds add column if not exists bytes_down bigint not null default 0;
alter table rounds add column if not exists participation jsonb;
alter table rounds add column if not exists accuracy_by_label jsonb;
alter table tasks add column if not exists privacy_spent jsonb;
alter table tasks add column if not exists stopped_reason text;
alter table rounds add column if not exists epsilon double precision;
alter table rounds add column if not exists confusion jsonb;
alter table rounds add column if not exists training_loss double precision;
alter table rounds add column if not exists first_assigned_at bigint;
alter table rounds add column if not exists staleness jsonb;
alter table rounds add column if not exists update_bounds jsonb;
alter table rounds add column if not exists abandoned_reason text;
create index if not exists rounds_open on rounds (status) where status = 'open';
create table if not exists devices (
  id text primary key,
  token_hash text not null unique,
  label text,
  capabilities jsonb,
  datasets jsonb not null,
  enrolled_at bigint not null,
  last_seen_at bigint not null
);
create table if not exists assignments (
  task_id text not null,
  round integer not null,
  device_id text not null references devices(id) on delete cascade,
  state text not null,
  examples integer not null,
  assigned_at bigint not null,
  answered_at bigint,
  primary key (task_id, round, device_id),
  foreign key (task_id, round) references rounds(task_id, round) on delete cascade
);
alter table assignments add column if not exists backend text;
alter table assignments add column if not exists examples_per_second double precision;
alter table assignments add column if not exists downloaded_at bigint;
alter table assignments add column if not exists bytes_up bigint not null default 0;
-- Rounds stored before first_assigned_at existed: their first assignment says when it was.
update rounds r set first_assigned_at = a.first
  from (select task_id, round, min(assigned_at) as first from assignments group by task_id, round) a
  where r.first_assigned_at is null and a.task_id = r.task_id and a.round = r.round;
