-- Server events fanned out to every replica (server/events/postgres.ts): the id is the event
-- stream's id (SSE Last-Event-ID), so a dashboard may reconnect to any replica and catch up.
-- Rows are written in id order (publishers serialise on an advisory lock) and pruned to the
-- newest few thousand.
create table if not exists events (
  id bigserial primary key,
  event text not null
);
