-- Values every replica must share, made once by whichever starts first (insert … on conflict
-- do nothing): the admin token when POLLEN_ADMIN_TOKEN is not set, in PostgreSQL mode.
create table if not exists settings (
  key text primary key,
  value text not null,
  created_at bigint not null
);
