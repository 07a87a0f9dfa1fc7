// The one schema both SQL stores (PostgreSQL and embedded PGlite) use, as numbered migrations applied
// in order at start and recorded in `thresh_migrations`; a new change is a new entry, never an edit.
import type { SqlExecutor } from './sql-executor.ts'

export interface Migration {
  version: number
  name: string
  sql: string
}

/**
 * Merges the buckets of a CTE `d(node_key, day, idx, samples, cpu, cpu_max, mem_used, mem_total,
 * disk_used, disk_total, containers)` into metrics_15m_day: each touched node-day gets its 96-slot
 * arrays rebuilt, new buckets replacing old ones, other slots kept (NULL where there is no data).
 */
export const mergeDaysSql = `
days as (select distinct node_key, day from d),
merged as (
  select k.node_key, k.day,
    array_agg(coalesce(d.samples::smallint, e.samples[i]) order by i) as samples,
    array_agg(coalesce(d.cpu::real, e.cpu[i]) order by i) as cpu,
    array_agg(coalesce(d.cpu_max::real, e.cpu_max[i]) order by i) as cpu_max,
    array_agg(coalesce(d.mem_used::real, e.mem_used[i]) order by i) as mem_used,
    array_agg(coalesce(d.mem_total::real, e.mem_total[i]) order by i) as mem_total,
    array_agg(coalesce(d.disk_used::real, e.disk_used[i]) order by i) as disk_used,
    array_agg(coalesce(d.disk_total::real, e.disk_total[i]) order by i) as disk_total,
    array_agg(coalesce(d.containers::real, e.containers[i]) order by i) as containers
  from days k
  cross join generate_series(1, 96) as i
  left join metrics_15m_day e on e.node_key = k.node_key and e.day = k.day
  left join d on d.node_key = k.node_key and d.day = k.day and d.idx = i
  group by k.node_key, k.day
),
written as (
  insert into metrics_15m_day (node_key, day, samples, cpu, cpu_max, mem_used, mem_total, disk_used, disk_total, containers)
  select * from merged
  on conflict (node_key, day) do update set samples = excluded.samples, cpu = excluded.cpu, cpu_max = excluded.cpu_max,
    mem_used = excluded.mem_used, mem_total = excluded.mem_total, disk_used = excluded.disk_used,
    disk_total = excluded.disk_total, containers = excluded.containers
  returning 1
)`

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
  {
    version: 2,
    name: '15-minute series as one row per node and UTC day',
    // A row per bucket cost ~119 bytes (tuple header and index entry dwarf 40 bytes of data): a year
    // of 1,000 nodes was 4.2 GB. 96 buckets in arrays per node-day cost ~3.7 kB, a third of that.
    sql: `
create table metrics_15m_day (
  node_key integer not null,
  day integer not null,
  samples smallint[] not null,
  cpu real[] not null,
  cpu_max real[] not null,
  mem_used real[] not null,
  mem_total real[] not null,
  disk_used real[] not null,
  disk_total real[] not null,
  containers real[] not null,
  primary key (node_key, day)
);
with d as (
  select node_key, (extract(epoch from bucket)::bigint / 86400)::int as day,
         ((extract(epoch from bucket)::bigint % 86400) / 900 + 1)::int as idx,
         samples, cpu, cpu_max, mem_used, mem_total, disk_used, disk_total, containers
  from metrics_15m
),
${mergeDaysSql}
select 1;
drop table metrics_15m;
`,
  },
  {
    version: 4,
    name: 'account roles and invitations',
    // Until now an account had one user, its admin, and `owner` marked the hub's first admin. Each of
    // those admins becomes their account's owner; the first keeps the power to create accounts as `hub-owner`.
    sql: `
create table invitations (
  id text primary key,
  account_id text not null references accounts(id) on delete cascade,
  role text not null check (role in ('viewer', 'operator', 'admin', 'owner')),
  token_hash text not null,
  created_by text not null,
  created_at timestamptz not null,
  expires_at timestamptz not null,
  accepted_at timestamptz,
  accepted_by text,
  revoked_at timestamptz,
  constraint invitations_token_hash_key unique (token_hash)
);
create index invitations_account on invitations(account_id);
update users set roles = case when roles @> '["owner"]'::jsonb then '["owner", "hub-owner"]'::jsonb else '["owner"]'::jsonb end
  where roles @> '["admin"]'::jsonb;
`,
  },
  {
    version: 7,
    name: 'fleet events and alerting',
    sql: `
create table events (
  id bigserial primary key,
  account_id text not null references accounts(id) on delete cascade,
  at timestamptz not null,
  kind text not null,
  severity text not null,
  node_id text,
  stack text,
  message text not null,
  details jsonb
);
create index events_account_id on events(account_id, id);
create index events_account_node on events(account_id, node_id, id);
create index events_at on events(at);
create table alert_rules (
  id text primary key,
  account_id text not null references accounts(id) on delete cascade,
  name text not null,
  kind text not null,
  scope_type text not null,
  scope_value text,
  threshold double precision,
  duration_ms bigint not null,
  channel_ids jsonb not null default '[]',
  enabled boolean not null default true,
  created_at timestamptz not null
);
create index alert_rules_account on alert_rules(account_id);
create table alert_channels (
  id text primary key,
  account_id text not null references accounts(id) on delete cascade,
  name text not null,
  type text not null,
  config jsonb not null,
  secret text,
  status text not null default 'ok',
  failures integer not null default 0,
  last_attempts jsonb not null default '[]',
  created_at timestamptz not null
);
create index alert_channels_account on alert_channels(account_id);
create table alert_silences (
  id text primary key,
  account_id text not null references accounts(id) on delete cascade,
  rule_id text,
  subject text,
  ends_at timestamptz not null,
  comment text not null,
  created_by text not null,
  created_at timestamptz not null
);
create index alert_silences_account on alert_silences(account_id);
create table alerts (
  id text primary key,
  account_id text not null references accounts(id) on delete cascade,
  rule_id text not null,
  rule_name text not null,
  kind text not null,
  subject text not null,
  state text not null,
  severity text not null,
  message text not null,
  details jsonb,
  started_at timestamptz not null,
  resolved_at timestamptz,
  silenced boolean not null default false
);
create unique index alerts_one_firing on alerts(account_id, rule_id, subject) where state = 'firing';
create index alerts_account on alerts(account_id, started_at);
create table alert_deliveries (
  id text primary key,
  account_id text not null references accounts(id) on delete cascade,
  channel_id text not null,
  alert_id text,
  event text not null,
  payload jsonb not null,
  status text not null,
  attempts integer not null default 0,
  next_attempt_at timestamptz not null,
  last_error text,
  created_at timestamptz not null,
  delivered_at timestamptz
);
create index alert_deliveries_due on alert_deliveries(next_attempt_at) where status = 'pending';
create index alert_deliveries_account on alert_deliveries(account_id, created_at);
`,
  },
  {
    version: 10,
    name: 'node lookups by hostname, HOT write-back of latest reports',
    // A command looks its node up by id or hostname: without an index on the hostname that was a scan
    // of the account's nodes. The latest-report write-back updates every reporting node's status,
    // last_seen_at and last_metrics; with no index on those columns and room left in each page, those
    // updates are heap-only (no new index entries, dead versions pruned in the page) instead of bloating
    // every index. The stale-node sweeps that used nodes_last_seen scan the table once a minute.
    sql: `
create index if not exists nodes_hostname on nodes(account_id, hostname);
drop index if exists nodes_last_seen;
alter table nodes set (fillfactor = 70);
`,
  },
  {
    version: 11,
    name: 'per-container usage history',
    // One row per container and minute, kept as long as raw samples (lib/storage/container-history.ts).
    sql: `
create table container_metrics (
  node_key integer not null,
  at timestamptz not null,
  name text not null,
  cpu real,
  mem real not null,
  primary key (node_key, at, name)
);
create index container_metrics_at on container_metrics(at);
`,
  },
  {
    version: 12,
    name: 'host figures history (load, swap, network, disk I/O, temperatures)',
    // Values as real[] in the order of a layout (the sorted keys of lib/storage/host-series.ts), stored
    // once in host_layouts: a node's figures keep their keys, so a point costs its numbers, not its names.
    // One row per sample, minute and quarter hour, rolled up and pruned with the node series.
    sql: `
create table host_layouts (
  id serial primary key,
  keys text[] not null unique
);
create table host_metrics_raw (
  node_key integer not null,
  at timestamptz not null,
  layout integer not null,
  vals real[] not null,
  primary key (node_key, at)
);
create table host_metrics_1m (
  node_key integer not null,
  bucket timestamptz not null,
  layout integer not null,
  samples smallint not null,
  vals real[] not null,
  primary key (node_key, bucket, layout)
);
create table host_metrics_15m (like host_metrics_1m including all);
`,
  },
  {
    version: 13,
    name: 'hub processes, node leases and cross-hub commands',
    // Active-active hubs on one PostgreSQL (docs/hubs.md): each hub process heartbeats its row; a node's
    // lease is the hub that holds its agent's connection (held_by), valid while that hub's heartbeat is
    // fresh. A command asked on one hub for a node held by another names both, so the holder can send it
    // and the asker can be told the result, and a dead holder's commands can be taken over. No index on
    // held_by: it changes with every (re)connect and the nodes table's updates stay heap-only.
    sql: `
create table hub_processes (
  id text primary key,
  label text not null default '',
  started_at timestamptz not null default now(),
  heartbeat_at timestamptz not null default now()
);
alter table nodes add column held_by text;
alter table commands add column asker_hub text;
alter table commands add column holder_hub text;
`,
  },
  {
    version: 16,
    name: "nodes' latest reports in a narrow table of their own",
    // Every sample rewrote its node's whole row (registration facts, agent info and the report, ~1 kB)
    // and, whenever the page had no room, added entries to all four of its indexes: dead rows piled up
    // as the fleet grew. The report now lives in a row of its own keyed by the node's integer key, the
    // one index never changes (updates stay heap-only) and half of each page is left for new versions.
    // A node's row changes only when its registration or status does.
    sql: `
create table node_reports (
  node_key integer primary key,
  seen_at timestamptz not null,
  at timestamptz not null,
  report jsonb not null
) with (fillfactor = 50);
insert into node_reports (node_key, seen_at, at, report)
  select key, last_seen_at, coalesce((last_metrics->>'timestamp')::timestamptz, last_seen_at), last_metrics
  from nodes where last_metrics is not null;
alter table nodes drop column last_metrics;
`,
  },
  {
    version: 17,
    name: 'one open command per stack across hubs',
    // A stack runs one operation at a time. One hub keeps that in memory; hubs sharing a database
    // need the database to refuse the second one, so at most one unfinished command per stack that a
    // hub of the mesh asked (asker_hub set; single-hub stores never set it) may exist. Older duplicates
    // (none are expected) are ended first, so the index can be built.
    sql: `
update commands c set status = 'error', error = 'Ended when hubs began to allow one open command per stack.', finished_at = now()
  where c.stack_id is not null and c.asker_hub is not null and c.status in ('pending', 'sent')
    and exists (select 1 from commands d where d.account_id = c.account_id and d.stack_id = c.stack_id and d.asker_hub is not null
                and d.status in ('pending', 'sent') and (d.created_at, d.id) > (c.created_at, c.id));
create unique index commands_stack_open on commands(account_id, stack_id) where stack_id is not null and asker_hub is not null and status in ('pending', 'sent');
`,
  },
  {
    version: 18,
    name: "the record a stack's deploy in flight replaces",
    // Kept with the stack while its deploy runs, so whichever hub applies the node's rollback (this one
    // after a restart, or the holding hub when the asking hub died) brings the stack back as it was.
    sql: `alter table stacks add column rollback_to jsonb;`,
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
