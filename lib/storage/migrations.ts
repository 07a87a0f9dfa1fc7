// The one schema both SQL stores (PostgreSQL and embedded PGlite) use, as numbered migrations applied
// in order at start and recorded in `thresh_migrations`; a new change is a new entry, never an edit.
import type { SqlExecutor } from './sql-executor.ts'

export interface Migration {
  version: number
  name: string
  sql: string
}

export const migrations: Migration[] = [
  {
    version: 1,
    name: 'fleet state and metrics series',
    sql: `
create table accounts (
  id text primary key,
  name text not null,
  created_at timestamptz not null
);
create table users (
  id text primary key,
  account_id text not null references accounts(id) on delete cascade,
  username text not null,
  password_hash text not null,
  must_change_password boolean not null default false,
  roles jsonb not null default '[]',
  created_at timestamptz not null,
  constraint users_username_key unique (username)
);
create index users_account on users(account_id);
create table sessions (
  id text primary key,
  account_id text not null references accounts(id) on delete cascade,
  user_id text not null references users(id) on delete cascade,
  token_hash text not null,
  created_at timestamptz not null,
  expires_at timestamptz not null,
  last_used_at timestamptz,
  revoked_at timestamptz,
  user_agent text,
  ip text,
  constraint sessions_token_hash_key unique (token_hash)
);
create index sessions_user on sessions(account_id, user_id);
create table api_keys (
  id text primary key,
  account_id text not null references accounts(id) on delete cascade,
  type text not null check (type in ('agent', 'midtier')),
  name text not null,
  key_hash text not null,
  prefix text not null,
  created_at timestamptz not null,
  revoked_at timestamptz,
  revoke_after timestamptz,
  rotated_to text,
  last_used_at timestamptz,
  constraint api_keys_key_hash_key unique (key_hash)
);
create index api_keys_account on api_keys(account_id);
create table clusters (
  id text primary key,
  account_id text not null references accounts(id) on delete cascade,
  name text not null,
  description text not null default '',
  created_at timestamptz not null,
  constraint clusters_name_key unique (account_id, name),
  unique (account_id, id)
);
create table nodes (
  account_id text not null references accounts(id) on delete cascade,
  id text not null,
  key integer generated always as identity unique,
  hostname text not null,
  platform text not null default '',
  os_version text not null default '',
  ip_address text not null default '',
  architecture text not null default '',
  container_runtime text not null default '',
  agent_version text not null default '',
  cpu_cores integer not null default 0,
  ram_total_gb double precision not null default 0,
  disk_total_gb double precision not null default 0,
  status text not null check (status in ('online', 'offline')),
  last_seen_at timestamptz not null,
  registered_at timestamptz not null,
  cluster_id text,
  connection_tier text,
  key_id text,
  info jsonb,
  last_metrics jsonb,
  primary key (account_id, id),
  foreign key (account_id, cluster_id) references clusters(account_id, id) on delete set null (cluster_id)
);
create index nodes_last_seen on nodes(last_seen_at);
create index nodes_cluster on nodes(account_id, cluster_id);
create table stacks (
  id text primary key,
  account_id text not null references accounts(id) on delete cascade,
  name text not null,
  status text not null,
  node_id text,
  error_message text,
  definition jsonb,
  created_at timestamptz not null,
  updated_at timestamptz not null,
  deployed_at timestamptz,
  constraint stacks_name_key unique (account_id, name)
);
create table stack_services (
  stack_id text not null references stacks(id) on delete cascade,
  name text not null,
  position integer not null,
  image text not null,
  ports jsonb not null default '[]',
  volumes jsonb not null default '[]',
  env jsonb not null default '{}',
  depends_on jsonb not null default '[]',
  status text not null,
  error_message text,
  primary key (stack_id, name)
);
create table commands (
  id text primary key,
  account_id text not null references accounts(id) on delete cascade,
  node_id text not null,
  tool text not null,
  arguments jsonb not null,
  status text not null check (status in ('pending', 'sent', 'success', 'error', 'timeout')),
  stack_id text,
  output text,
  error text,
  result jsonb,
  duration_ms integer,
  created_at timestamptz not null,
  sent_at timestamptz,
  finished_at timestamptz
);
create index commands_node on commands(account_id, node_id, created_at);
create index commands_open on commands(created_at) where status in ('pending', 'sent');
create table audit_log (
  id bigint generated always as identity primary key,
  account_id text not null references accounts(id) on delete cascade,
  at timestamptz not null,
  actor text not null,
  action text not null,
  target text not null,
  details jsonb
);
create index audit_account on audit_log(account_id, id desc);
-- The series: a small integer node key and float4 columns keep a row near 60 bytes on disk.
create table metrics_raw (
  node_key integer not null,
  at timestamptz not null,
  cpu real not null,
  mem_used real not null,
  mem_total real not null,
  disk_used real not null,
  disk_total real not null,
  containers smallint not null,
  primary key (node_key, at)
);
create table metrics_1m (
  node_key integer not null,
  bucket timestamptz not null,
  samples smallint not null,
  cpu real not null,
  cpu_max real not null,
  mem_used real not null,
  mem_total real not null,
  disk_used real not null,
  disk_total real not null,
  containers real not null,
  primary key (node_key, bucket)
);
create table metrics_15m (like metrics_1m including all);
-- Rollups are recomputed from the finer series for buckets at or after min(done_until, dirty_from);
-- dirty_from records late samples (a mid-tier draining its buffer) so their buckets are redone.
create table metrics_rollup_state (
  tier text primary key,
  done_until timestamptz not null,
  dirty_from timestamptz
);
insert into metrics_rollup_state (tier, done_until) values ('1m', 'epoch'), ('15m', 'epoch');
`,
  },
]

/** Applies pending migrations under an advisory lock, so two hubs starting together do not race. */
export async function migrate(db: SqlExecutor): Promise<number[]> {
  return db.transaction(async (tx) => {
    await tx.query('select pg_advisory_xact_lock(7200720072)')
    await tx.query(`create table if not exists thresh_migrations (
      version integer primary key, name text not null, applied_at timestamptz not null default now())`)
    const rows = await tx.query<{ version: number }>('select version from thresh_migrations')
    const done = new Set(rows.map((r) => Number(r.version)))
    const applied: number[] = []
    for (const m of migrations) {
      if (done.has(m.version)) continue
      await tx.exec(m.sql)
      await tx.query('insert into thresh_migrations (version, name) values ($1, $2)', [m.version, m.name])
      applied.push(m.version)
    }
    return applied
  })
}
