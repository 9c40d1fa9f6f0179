-- Secure aggregation on replicas (issue 17): each SecAgg+ round's calls in the order they took
-- effect, so that every replica rebuilds the same round state from them (server/cluster/
-- secure-log.ts). Public keys, sealed bundles and revealed shares only: the masked inputs go to
-- the spool and the replicas' partial sums, as every upload does.
create table if not exists secagg_log (
  task_id text not null,
  round integer not null,
  seq integer not null,
  call text not null,
  device_id text,
  body jsonb not null,
  at bigint not null,
  primary key (task_id, round, seq),
  foreign key (task_id, round) references rounds(task_id, round) on delete cascade
);
