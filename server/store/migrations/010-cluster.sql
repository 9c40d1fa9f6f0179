-- Replicas on one PostgreSQL (issue 17): the round in the database is the truth, so any replica
-- can select devices and accept updates atomically, and a new owner carries an open round on.

-- Where a round is (server/rounds/live.ts's RoundPhase): rounds stored before this read their
-- status (committed, abandoned; open stays open).
alter table rounds add column if not exists phase text not null default 'open';
update rounds set phase = status where status in ('committed', 'abandoned') and phase = 'open';

-- Bumped at each takeover; every owner write checks it, so a stale owner cannot write twice.
alter table tasks add column if not exists owner_epoch bigint not null default 0;

-- What the assigned device's update may claim (claims.ts's ClaimBound), and who selected it.
alter table assignments add column if not exists claim jsonb;
alter table assignments add column if not exists replica_id text;

-- Accepted updates, durable before the device hears `accepted`: the owner folds those of a
-- replica that died (or feeds them all to a rule that does not add) at close.
create table if not exists spool (
  task_id text not null,
  round integer not null,
  device_id text not null,
  replica_id text not null,
  examples integer not null,
  steps integer not null,
  loss double precision,
  staleness integer,
  partial boolean not null,
  bytes bytea not null,
  accepted_at bigint not null,
  primary key (task_id, round, device_id),
  foreign key (task_id, round) references rounds(task_id, round) on delete cascade
);
create index if not exists spool_order on spool (task_id, round, accepted_at, device_id);

-- Each replica's weighted sum of the updates it accepted in a round, written when the round
-- closes; `devices` (sorted) says which spool rows it covers.
create table if not exists partials (
  task_id text not null,
  round integer not null,
  replica_id text not null,
  devices text[] not null,
  reports integer not null,
  examples bigint not null,
  weight double precision not null,
  sum bytea not null,
  extra jsonb not null,
  written_at bigint not null,
  primary key (task_id, round, replica_id),
  foreign key (task_id, round) references rounds(task_id, round) on delete cascade
);

-- The replicas that run, for /metrics and the dashboard (liveness is their advisory lock).
create table if not exists replicas (
  id text primary key,
  started_at bigint not null,
  heartbeat_at bigint not null,
  urls jsonb not null
);
