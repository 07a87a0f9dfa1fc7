// The one behaviour suite every FleetStore passes (memory, embedded PGlite, PostgreSQL): what the hub
// relies on, stated as what a user of the hub would notice.
import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { alertingCases } from './alerting-cases.ts'
import { isKeyActive, type FleetStore, type KeyRecord, type MetricsSampleInput, type StackRecord } from '../../lib/storage/index.ts'

export interface StoreHarness {
  /** Opens the store; for durable stores, opening again after close sees the same data. */
  open(): Promise<FleetStore>
  durable: boolean
  /** Removes whatever the harness created (schema, directory). */
  destroy?(): Promise<void>
}

const HOUR = 3_600_000
const iso = (ms: number) => new Date(ms).toISOString()
const id = (prefix: string) => `${prefix}-${randomUUID()}`

export function describeStore(name: string, makeHarness: () => StoreHarness): void {
  describe(`storage conformance: ${name}`, () => {
    const harness = makeHarness()
    let store: FleetStore

    beforeAll(async () => {
      store = await harness.open()
    })
    afterAll(async () => {
      await store?.close()
      await harness.destroy?.()
    })

    async function account(label = 'acme') {
      return store.createAccount({ id: id('acct'), name: label, createdAt: new Date().toISOString() })
    }
    async function node(accountId: string, hostname = id('host'), extra: Record<string, unknown> = {}) {
      return store.upsertNode({
        id: id('agent'),
        accountId,
        hostname,
        platform: 'linux',
        osVersion: 'Debian 12',
        ipAddress: '127.0.0.1',
        architecture: 'x64',
        containerRuntime: 'docker',
        agentVersion: '1.0.0',
        cpuCores: 4,
        ramTotalGb: 16,
        diskTotalGb: 100,
        connectionTier: 'hub',
        ...extra,
      })
    }
    function key(accountId: string, over: Partial<KeyRecord> = {}): KeyRecord {
      return {
        id: id('key'),
        accountId,
        type: 'agent',
        name: 'laptop',
        keyHash: randomUUID().replace(/-/g, '') + randomUUID().replace(/-/g, ''),
        prefix: 'thresh_live_ab12',
        createdAt: new Date().toISOString(),
        ...over,
      }
    }
    function stack(accountId: string, name = id('stack')): StackRecord {
      const now = new Date().toISOString()
      return {
        id: id('stack'),
        accountId,
        name,
        status: 'pending',
        definition: { name, services: { db: { image: 'postgres:16' }, api: { image: 'api:1', depends_on: ['db'] } } },
        services: [
          { name: 'db', image: 'postgres:16', ports: ['5432:5432'], volumes: ['pg:/var/lib/postgresql/data'], env: { A: '1' }, dependsOn: [], status: 'pending' },
          { name: 'api', image: 'api:1', ports: [], volumes: [], env: {}, dependsOn: ['db'], status: 'pending' },
        ],
        createdAt: now,
        updatedAt: now,
      }
    }
    function sample(agentId: string, at: number, cpu: number, over: Partial<MetricsSampleInput> = {}): MetricsSampleInput {
      return {
        agentId,
        timestamp: iso(at),
        cpuPercent: cpu,
        cpuPerCore: [cpu],
        memoryUsedMB: 1000 + cpu,
        memoryTotalMB: 16000,
        diskUsedGB: 40,
        diskTotalGB: 100,
        disks: [],
        containersRunning: 3,
        containers: [],
        environmentCount: 1,
        uptimeSeconds: 100,
        ...over,
      }
    }

    it('keeps accounts and lists them', async () => {
      const a = await account('first')
      expect(await store.getAccount(a.id)).toEqual(a)
      expect((await store.listAccounts()).map((x) => x.id)).toContain(a.id)
      expect(await store.getAccount('no-such-account')).toBeUndefined()
    })

    it('finds a user by username for login, and refuses a second user with the same name with a conflict', async () => {
      const a = await account()
      const username = id('admin')
      const user = await store.createUser({ id: id('user'), accountId: a.id, username, passwordHash: 'scrypt$x', mustChangePassword: true, roles: ['admin'], createdAt: new Date().toISOString() })
      expect(await store.findUserByName(username)).toEqual(user)
      await expect(store.createUser({ ...user, id: id('user') })).rejects.toMatchObject({ code: 'conflict', status: 409 })
      expect(await store.updateUser(a.id, user.id, { passwordHash: 'scrypt$y', mustChangePassword: false })).toBe(true)
      expect(await store.getUser(a.id, user.id)).toMatchObject({ passwordHash: 'scrypt$y', mustChangePassword: false, roles: ['admin'] })
      expect(await store.countUsers()).toBeGreaterThanOrEqual(1)
      expect((await store.listUsers(a.id)).map((u) => u.username)).toEqual([username])
    })

    it('removes a user together with their sessions, and only within their own account', async () => {
      const a = await account()
      const b = await account()
      const user = await store.createUser({ id: id('user'), accountId: a.id, username: id('u'), passwordHash: 'h', mustChangePassword: false, roles: ['viewer'], createdAt: iso(Date.now()) })
      const session = await store.createSession({ id: id('s'), accountId: a.id, userId: user.id, tokenHash: id('hash'), createdAt: iso(Date.now()), expiresAt: iso(Date.now() + HOUR) })
      expect(await store.deleteUser(b.id, user.id)).toBe(false)
      expect(await store.deleteUser(a.id, user.id)).toBe(true)
      expect(await store.getUser(a.id, user.id)).toBeUndefined()
      expect(await store.findSessionByHash(session.tokenHash)).toBeUndefined()
      expect(await store.deleteUser(a.id, user.id)).toBe(false)
    })

    it('lets an invitation be accepted once, never after it is revoked or expired, and never by another account', async () => {
      const a = await account()
      const b = await account()
      const invite = (over: Record<string, unknown> = {}) =>
        store.createInvitation({ id: id('inv'), accountId: a.id, role: 'viewer', tokenHash: id('hash'), createdBy: 'admin', createdAt: iso(Date.now()), expiresAt: iso(Date.now() + HOUR), ...over })
      const newUser = (username = id('u')) => ({ id: id('user'), accountId: a.id, username, passwordHash: 'h', mustChangePassword: false, roles: ['viewer'], createdAt: iso(Date.now()) })

      const pending = await invite()
      expect(await store.findInvitationByHash(pending.tokenHash)).toEqual(pending)
      expect(await store.getInvitation(b.id, pending.id)).toBeUndefined()
      expect(await store.acceptInvitation(b.id, pending.id, { ...newUser(), accountId: b.id }, iso(Date.now()))).toBe(false)
      const taken = await store.createUser(newUser())
      await expect(store.acceptInvitation(a.id, pending.id, newUser(taken.username), iso(Date.now()))).rejects.toMatchObject({ code: 'conflict' })
      expect((await store.getInvitation(a.id, pending.id))?.acceptedAt).toBeUndefined()
      const joiner = newUser()
      expect(await store.acceptInvitation(a.id, pending.id, joiner, iso(Date.now()))).toBe(true)
      expect(await store.acceptInvitation(a.id, pending.id, newUser(), iso(Date.now()))).toBe(false)
      expect(await store.getInvitation(a.id, pending.id)).toMatchObject({ acceptedBy: joiner.username })
      expect(await store.findUserByName(joiner.username)).toEqual(joiner)
      expect(await store.revokeInvitation(a.id, pending.id, iso(Date.now()))).toBe(false)

      const revoked = await invite()
      expect(await store.revokeInvitation(b.id, revoked.id, iso(Date.now()))).toBe(false)
      expect(await store.revokeInvitation(a.id, revoked.id, iso(Date.now()))).toBe(true)
      expect(await store.acceptInvitation(a.id, revoked.id, newUser(), iso(Date.now()))).toBe(false)

      const expired = await invite({ expiresAt: iso(Date.now() - 1000) })
      expect(await store.acceptInvitation(a.id, expired.id, newUser(), iso(Date.now()))).toBe(false)
      expect((await store.listInvitations(a.id)).map((i) => i.id)).toEqual([pending.id, revoked.id, expired.id])
      expect(await store.listInvitations(b.id)).toEqual([])
      await expect(invite({ tokenHash: pending.tokenHash })).rejects.toMatchObject({ code: 'conflict' })
    })

    it('finds sessions by token hash, revokes them, and prunes expired ones', async () => {
      const a = await account()
      const user = await store.createUser({ id: id('user'), accountId: a.id, username: id('u'), passwordHash: 'h', mustChangePassword: false, roles: [], createdAt: new Date().toISOString() })
      const live = await store.createSession({ id: id('s'), accountId: a.id, userId: user.id, tokenHash: id('hash'), createdAt: iso(Date.now()), expiresAt: iso(Date.now() + HOUR) })
      const old = await store.createSession({ id: id('s'), accountId: a.id, userId: user.id, tokenHash: id('hash'), createdAt: iso(Date.now() - 3 * HOUR), expiresAt: iso(Date.now() - 2 * HOUR) })
      expect(await store.findSessionByHash(live.tokenHash)).toEqual(live)
      await store.touchSession(a.id, live.id, iso(Date.now()))
      expect((await store.findSessionByHash(live.tokenHash))?.lastUsedAt).toBeDefined()
      expect(await store.revokeSession(a.id, live.id, iso(Date.now()))).toBe(true)
      expect((await store.findSessionByHash(live.tokenHash))?.revokedAt).toBeDefined()
      expect(await store.pruneSessions(iso(Date.now() - HOUR))).toBeGreaterThanOrEqual(1)
      expect(await store.findSessionByHash(old.tokenHash)).toBeUndefined()
      expect((await store.listSessions(a.id, user.id)).map((s) => s.id)).toEqual([live.id])
      await expect(store.createSession({ ...live, id: id('s') })).rejects.toMatchObject({ code: 'conflict' })
    })

    it('looks keys up by hash, and a revoked key stops being active', async () => {
      const a = await account()
      const k = await store.createKey(key(a.id))
      expect(await store.findKeyByHash(k.keyHash)).toEqual(k)
      expect(isKeyActive((await store.findKeyByHash(k.keyHash))!)).toBe(true)
      expect(await store.updateKey(a.id, k.id, { revokedAt: iso(Date.now()), lastUsedAt: iso(Date.now()) })).toBe(true)
      const revoked = (await store.getKey(a.id, k.id))!
      expect(revoked.lastUsedAt).toBeDefined()
      expect(isKeyActive(revoked)).toBe(false)
      await expect(store.createKey(key(a.id, { keyHash: k.keyHash }))).rejects.toMatchObject({ code: 'conflict', status: 409 })
    })

    it('rotates a key: the new key works at once and the old one only until the grace period ends', async () => {
      const a = await account()
      const old = await store.createKey(key(a.id, { type: 'midtier', prefix: 'thresh_mid_x' }))
      const next = key(a.id, { type: 'midtier', name: 'laptop (rotated)' })
      const grace = iso(Date.now() + HOUR)
      expect(await store.rotateKey(a.id, old.id, next, grace)).toMatchObject({ id: next.id })
      const oldNow = (await store.findKeyByHash(old.keyHash))!
      expect(oldNow).toMatchObject({ revokeAfter: grace, rotatedTo: next.id })
      expect(isKeyActive(oldNow)).toBe(true)
      expect(isKeyActive(oldNow, new Date(Date.now() + 2 * HOUR))).toBe(false)
      expect(isKeyActive((await store.findKeyByHash(next.keyHash))!, new Date(Date.now() + 2 * HOUR))).toBe(true)
      expect((await store.listKeys(a.id)).map((k) => k.id).sort()).toEqual([old.id, next.id].sort())
      const other = await account()
      expect(await store.rotateKey(other.id, old.id, key(other.id), grace)).toBeUndefined()
      await store.updateKey(a.id, next.id, { revokedAt: iso(Date.now()) })
      expect(await store.rotateKey(a.id, next.id, key(a.id), grace)).toBeUndefined()
    })

    it('registers a node online, and a re-registration refreshes it but keeps registeredAt and its cluster', async () => {
      const a = await account()
      const n = await node(a.id, id('web'), { registeredAt: iso(Date.now() - HOUR), info: { agentId: 'x', extra: 1 } })
      expect(n).toMatchObject({ status: 'online', platform: 'linux', cpuCores: 4, ramTotalGb: 16, connectionTier: 'hub', info: { extra: 1 } })
      const c = await store.createCluster({ id: id('c'), accountId: a.id, name: 'prod', description: '', createdAt: iso(Date.now()) })
      expect(await store.setNodeCluster(a.id, n.id, c.id)).toBe(true)
      await store.updateNode(a.id, n.id, { status: 'offline' })
      const again = await store.upsertNode({ id: n.id, accountId: a.id, hostname: 'renamed', agentVersion: '1.1.0' })
      expect(again).toMatchObject({ status: 'online', hostname: 'renamed', agentVersion: '1.1.0', registeredAt: n.registeredAt, clusterId: c.id })
      expect(await store.findNode(a.id, 'renamed')).toMatchObject({ id: n.id })
      expect(await store.findNode(a.id, n.id)).toMatchObject({ hostname: 'renamed' })
      expect(await store.getNode(a.id, 'nope')).toBeUndefined()
    })

    it('marks nodes offline when they stop reporting and prunes them after the stale window', async () => {
      const before = await store.countNodes()
      const a = await account()
      const quiet = await node(a.id, id('quiet'), { lastSeenAt: iso(Date.now() - 10 * 60_000) })
      const gone = await node(a.id, id('gone'), { lastSeenAt: iso(Date.now() - 48 * HOUR) })
      const fresh = await node(a.id)
      expect(await store.countNodes()).toEqual({ total: before.total + 3, online: before.online + 3 })
      const offline = await store.markStaleNodesOffline(iso(Date.now() - 90_000))
      expect(await store.countNodes()).toEqual({ total: before.total + 3, online: before.online + 1 })
      expect(await store.countNodes(a.id)).toEqual({ total: 3, online: 1 })
      expect(offline).toEqual(expect.arrayContaining([{ accountId: a.id, id: quiet.id }, { accountId: a.id, id: gone.id }]))
      expect(offline).not.toContainEqual({ accountId: a.id, id: fresh.id })
      expect((await store.getNode(a.id, quiet.id))?.status).toBe('offline')
      expect((await store.getNode(a.id, fresh.id))?.status).toBe('online')
      const pruned = await store.pruneStaleNodes(iso(Date.now() - 24 * HOUR))
      expect(pruned).toContainEqual({ accountId: a.id, id: gone.id })
      expect((await store.listNodes(a.id)).map((n) => n.id).sort()).toEqual([quiet.id, fresh.id].sort())
      expect(await store.deleteNode(a.id, quiet.id)).toBe(true)
      expect(await store.deleteNode(a.id, quiet.id)).toBe(false)
    })

    it('keeps a node in at most one cluster, and deleting a cluster keeps its nodes', async () => {
      const a = await account()
      const n1 = await node(a.id)
      const n2 = await node(a.id)
      const blue = await store.createCluster({ id: id('c'), accountId: a.id, name: 'blue', description: 'blue team', createdAt: iso(Date.now()) })
      const green = await store.createCluster({ id: id('c'), accountId: a.id, name: 'green', description: '', createdAt: iso(Date.now()) })
      await expect(store.createCluster({ ...blue, id: id('c') })).rejects.toMatchObject({ code: 'conflict', status: 409 })
      await store.setNodeCluster(a.id, n1.id, blue.id)
      await store.setNodeCluster(a.id, n2.id, blue.id)
      await store.setNodeCluster(a.id, n1.id, green.id)
      expect((await store.getClusterByName(a.id, 'blue'))?.nodeCount).toBe(1)
      expect((await store.listClusterNodes(a.id, green.id)).map((n) => n.id)).toEqual([n1.id])
      expect((await store.listClusters(a.id)).map((c) => [c.name, c.nodeCount])).toEqual([['blue', 1], ['green', 1]])
      expect(await store.setNodeCluster(a.id, n1.id, null)).toBe(true)
      expect((await store.getNode(a.id, n1.id))?.clusterId).toBeUndefined()
      expect(await store.setNodeCluster(a.id, n1.id, 'no-such-cluster')).toBe(false)
      expect(await store.deleteCluster(a.id, blue.id)).toBe(true)
      expect(await store.getCluster(a.id, blue.id)).toBeUndefined()
      const kept = await store.getNode(a.id, n2.id)
      expect(kept).toBeDefined()
      expect(kept?.clusterId).toBeUndefined()
    })

    it('stores a stack with its services, tracks each service, and replaces services on redeploy', async () => {
      const a = await account()
      const s = await store.upsertStack(stack(a.id, 'shop'))
      expect(await store.getStackByName(a.id, 'shop')).toEqual(s)
      await expect(store.upsertStack(stack(a.id, 'shop'))).rejects.toMatchObject({ code: 'conflict', status: 409 })
      expect(await store.setServiceStatus(a.id, s.id, 'db', { status: 'running' })).toBe(true)
      expect(await store.setServiceStatus(a.id, s.id, 'api', { status: 'error', errorMessage: 'exit 1' })).toBe(true)
      expect(await store.setServiceStatus(a.id, s.id, 'nope', { status: 'running' })).toBe(false)
      let got = (await store.getStack(a.id, s.id))!
      expect(got.services.map((x) => [x.name, x.status, x.errorMessage])).toEqual([
        ['db', 'running', undefined],
        ['api', 'error', 'exit 1'],
      ])
      expect(got.services[0]).toMatchObject({ ports: ['5432:5432'], volumes: ['pg:/var/lib/postgresql/data'], env: { A: '1' } })
      await store.setServiceStatus(a.id, s.id, 'api', { status: 'running', errorMessage: null, image: 'api:2' })
      got = (await store.getStack(a.id, s.id))!
      expect(got.services[1]).toMatchObject({ status: 'running', image: 'api:2' })
      expect(got.services[1]!.errorMessage).toBeUndefined()
      const deployedAt = iso(Date.now())
      expect(await store.updateStack(a.id, s.id, { status: 'running', nodeId: 'agent-1', deployedAt, updatedAt: deployedAt })).toBe(true)
      expect(await store.getStack(a.id, s.id)).toMatchObject({ status: 'running', nodeId: 'agent-1', deployedAt })
      await store.upsertStack({ ...got, status: 'deploying', services: [{ ...got.services[0]!, image: 'postgres:17' }] })
      got = (await store.getStack(a.id, s.id))!
      expect(got.services.map((x) => x.image)).toEqual(['postgres:17'])
      expect(got.status).toBe('deploying')
      expect((await store.listStacks(a.id)).map((x) => x.name)).toEqual(['shop'])
      expect(await store.deleteStack(a.id, s.id)).toBe(true)
      expect(await store.getStack(a.id, s.id)).toBeUndefined()
    })

    it('lets exactly one of two simultaneous deploys of the same stack name win', async () => {
      const a = await account()
      const results = await Promise.allSettled([store.upsertStack(stack(a.id, 'race')), store.upsertStack(stack(a.id, 'race'))])
      expect(results.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected'])
      expect((results.find((r) => r.status === 'rejected') as PromiseRejectedResult).reason).toMatchObject({ code: 'conflict' })
      const stored = await store.listStacks(a.id)
      expect(stored).toHaveLength(1)
      expect(stored[0]!.services.map((x) => x.name)).toEqual(['db', 'api'])
    })

    it('refuses to let one account overwrite another account\'s stack by id', async () => {
      const a = await account()
      const b = await account()
      const mine = await store.upsertStack(stack(a.id, 'mine'))
      await expect(store.upsertStack({ ...stack(b.id, 'theirs'), id: mine.id })).rejects.toMatchObject({ code: 'conflict' })
      expect((await store.getStack(a.id, mine.id))?.services.map((x) => x.image)).toEqual(['postgres:16', 'api:1'])
    })

    it('records command results once, ignores duplicate results, and times out commands that never answer', async () => {
      const a = await account()
      const n = await node(a.id)
      const base = { accountId: a.id, nodeId: n.id, tool: 'deploy_stack', arguments: { stackName: 'x' } }
      const c1 = await store.createCommand({ ...base, id: id('cmd'), status: 'pending', createdAt: iso(Date.now() - 1000) })
      const c2 = await store.createCommand({ ...base, id: id('cmd'), status: 'pending', createdAt: iso(Date.now() - 10 * 60_000) })
      expect(await store.updateCommand(a.id, c1.id, { status: 'sent', sentAt: iso(Date.now()) })).toBe(true)
      expect((await store.listCommands(a.id, { nodeId: n.id, status: ['pending', 'sent'] })).map((c) => c.id)).toEqual([c2.id, c1.id])
      expect(await store.finishCommand(a.id, c1.id, { status: 'success', output: 'ok', result: { n: 1 }, durationMs: 12, finishedAt: iso(Date.now()) })).toBe(true)
      expect(await store.finishCommand(a.id, c1.id, { status: 'error', error: 'late duplicate' })).toBe(false)
      expect(await store.getCommand(a.id, c1.id)).toMatchObject({ status: 'success', output: 'ok', result: { n: 1 }, durationMs: 12, arguments: { stackName: 'x' } })
      const timedOut = await store.timeOutCommands(iso(Date.now() - 60_000), iso(Date.now()))
      expect(timedOut.map((c) => c.id)).toContain(c2.id)
      expect(timedOut.map((c) => c.id)).not.toContain(c1.id)
      expect((await store.getCommand(a.id, c2.id))?.status).toBe('timeout')
      expect(await store.finishCommand(a.id, c2.id, { status: 'success' })).toBe(false)
    })

    it('writes an audit log that lists newest first and pages backwards', async () => {
      const a = await account()
      for (const action of ['login', 'key.create', 'stack.deploy']) {
        await store.appendAudit({ accountId: a.id, at: iso(Date.now()), actor: 'admin', action, target: 'x', details: { action } })
      }
      const all = await store.listAudit(a.id)
      expect(all.map((e) => e.action)).toEqual(['stack.deploy', 'key.create', 'login'])
      expect(all[0]!.details).toEqual({ action: 'stack.deploy' })
      const page = await store.listAudit(a.id, { limit: 1, before: all[0]!.id })
      expect(page.map((e) => e.action)).toEqual(['key.create'])
    })

    it('never shows one account the rows of another', async () => {
      const a = await account('a')
      const b = await account('b')
      const n = await node(a.id, 'shared-name')
      const k = await store.createKey(key(a.id))
      const c = await store.createCluster({ id: id('c'), accountId: a.id, name: 'prod', description: '', createdAt: iso(Date.now()) })
      const s = await store.upsertStack(stack(a.id, 'web'))
      const cmd = await store.createCommand({ id: id('cmd'), accountId: a.id, nodeId: n.id, tool: 'get_version', arguments: {}, status: 'pending', createdAt: iso(Date.now()) })
      await store.appendAudit({ accountId: a.id, at: iso(Date.now()), actor: 'admin', action: 'login', target: 'admin' })
      await store.appendMetrics(a.id, [sample(n.id, Date.now() - 1000, 10)])

      expect(await store.listNodes(b.id)).toEqual([])
      expect(await store.getNode(b.id, n.id)).toBeUndefined()
      expect(await store.findNode(b.id, 'shared-name')).toBeUndefined()
      expect(await store.listKeys(b.id)).toEqual([])
      expect(await store.getKey(b.id, k.id)).toBeUndefined()
      expect(await store.updateKey(b.id, k.id, { revokedAt: iso(Date.now()) })).toBe(false)
      expect(await store.listClusters(b.id)).toEqual([])
      expect(await store.getCluster(b.id, c.id)).toBeUndefined()
      expect(await store.deleteCluster(b.id, c.id)).toBe(false)
      expect(await store.listStacks(b.id)).toEqual([])
      expect(await store.getStack(b.id, s.id)).toBeUndefined()
      expect(await store.setServiceStatus(b.id, s.id, 'db', { status: 'running' })).toBe(false)
      expect(await store.deleteStack(b.id, s.id)).toBe(false)
      expect(await store.getCommand(b.id, cmd.id)).toBeUndefined()
      expect(await store.finishCommand(b.id, cmd.id, { status: 'success' })).toBe(false)
      expect(await store.listCommands(b.id)).toEqual([])
      expect(await store.listAudit(b.id)).toEqual([])
      expect(await store.deleteNode(b.id, n.id)).toBe(false)
      // B's node may not join A's cluster, and B cannot write metrics for A's node.
      const bn = await node(b.id)
      expect(await store.setNodeCluster(b.id, bn.id, c.id)).toBe(false)
      expect(await store.appendMetrics(b.id, [sample(n.id, Date.now() - 500, 99)])).toBe(0)
      const series = await store.queryMetrics(b.id, n.id, { from: iso(Date.now() - HOUR), to: iso(Date.now()) })
      expect(series.points).toEqual([])
      // Stack names are unique per account, not across accounts.
      await expect(store.upsertStack(stack(b.id, 'web'))).resolves.toMatchObject({ name: 'web' })
      await expect(store.createCluster({ id: id('c'), accountId: b.id, name: 'prod', description: '', createdAt: iso(Date.now()) })).resolves.toBeDefined()
      // Nothing of A changed.
      expect((await store.getNode(a.id, n.id))?.status).toBe('online')
      expect(isKeyActive((await store.getKey(a.id, k.id))!)).toBe(true)
    })

    it('stores metric samples, drops unknown nodes and duplicates, and keeps the latest sample on the node', async () => {
      const a = await account()
      const n = await node(a.id)
      const t = Date.now() - 5 * 60_000
      const stored = await store.appendMetrics(a.id, [
        sample(n.id, t, 10),
        sample(n.id, t + 30_000, 30),
        sample(n.id, t + 30_000, 30),
        sample('unknown-agent', t, 50),
      ])
      expect(stored).toBe(2)
      expect(await store.appendMetrics(a.id, [sample(n.id, t, 10)])).toBe(0)
      const series = await store.queryMetrics(a.id, n.id, { from: iso(t - 1000), to: iso(t + 60_000) })
      expect(series.resolution).toBe('raw')
      expect(series.points.map((p) => [p.at, p.cpuPercent, p.memoryUsedMb, p.containersRunning])).toEqual([
        [iso(t), 10, 1010, 3],
        [iso(t + 30_000), 30, 1030, 3],
      ])
      const refreshed = (await store.getNode(a.id, n.id))!
      expect(refreshed.lastMetrics).toMatchObject({ cpuPercent: 30, timestamp: iso(t + 30_000) })
      // An older sample arriving late does not replace the latest one.
      await store.appendMetrics(a.id, [sample(n.id, t - 60_000, 5)])
      expect((await store.getNode(a.id, n.id))!.lastMetrics).toMatchObject({ cpuPercent: 30 })
    })

    it('rolls samples up into 1-minute and 15-minute buckets and picks the resolution from the span', async () => {
      const a = await account()
      const n = await node(a.id)
      const now = Math.floor(Date.now() / (15 * 60_000)) * 15 * 60_000
      const start = now - 2 * HOUR
      const samples: MetricsSampleInput[] = []
      // Two samples a minute: cpu 10 then 20 -> a 1-minute average of 15, max 20.
      for (let at = start; at < now; at += 30_000) samples.push(sample(n.id, at, (at / 30_000) % 2 === 0 ? 10 : 20))
      expect(await store.appendMetrics(a.id, samples)).toBe(samples.length)
      await store.maintainMetrics(new Date(now))

      const minute = await store.queryMetrics(a.id, n.id, { from: iso(start), to: iso(now - 1), resolution: '1m', now: new Date(now) })
      expect(minute.stepMs).toBe(60_000)
      expect(minute.points).toHaveLength(120)
      expect(minute.points[0]).toMatchObject({ at: iso(start), cpuPercent: 15, cpuMax: 20, samples: 2, memoryTotalMb: 16000 })
      const quarter = await store.queryMetrics(a.id, n.id, { from: iso(start), to: iso(now - 1), resolution: '15m', now: new Date(now) })
      expect(quarter.points).toHaveLength(8)
      expect(quarter.points[0]).toMatchObject({ at: iso(start), cpuPercent: 15, cpuMax: 20, samples: 30 })

      expect((await store.queryMetrics(a.id, n.id, { from: iso(now - HOUR), to: iso(now), now: new Date(now) })).resolution).toBe('raw')
      expect((await store.queryMetrics(a.id, n.id, { from: iso(now - 24 * HOUR), to: iso(now), now: new Date(now) })).resolution).toBe('1m')
      expect((await store.queryMetrics(a.id, n.id, { from: iso(now - 7 * 24 * HOUR), to: iso(now), now: new Date(now) })).resolution).toBe('15m')

      // Samples from before the last rollup (a mid-tier draining its buffer) are rolled up on the next run.
      await store.appendMetrics(a.id, [sample(n.id, start + 15_000, 90)])
      await store.maintainMetrics(new Date(now))
      const redone = await store.queryMetrics(a.id, n.id, { from: iso(start), to: iso(start + 59_000), resolution: '1m', now: new Date(now) })
      expect(redone.points[0]).toMatchObject({ samples: 3, cpuMax: 90 })
      expect(redone.points[0]!.cpuPercent).toBeCloseTo(40, 4)

      // Samples not yet rolled up still show in a rolled-up query.
      await store.appendMetrics(a.id, [sample(n.id, now + 5_000, 40), sample(n.id, now + 35_000, 60)])
      const tail = await store.queryMetrics(a.id, n.id, { from: iso(now), to: iso(now + 60_000), resolution: '1m', now: new Date(now + 60_000) })
      expect(tail.points).toEqual([expect.objectContaining({ at: iso(now), cpuPercent: 50, samples: 2 })])
    })

    it('answers a metrics query with bad times with a 400, and an unknown node with an empty series', async () => {
      const a = await account()
      await expect(store.queryMetrics(a.id, 'x', { from: 'yesterday', to: iso(Date.now()) })).rejects.toMatchObject({ code: 'invalid_input', status: 400 })
      await expect(store.queryMetrics(a.id, 'x', { from: iso(0), to: iso(1), resolution: '5m' as never })).rejects.toMatchObject({ status: 400 })
      expect(await store.queryMetrics(a.id, 'no-such-node', { from: iso(Date.now() - HOUR), to: iso(Date.now()) })).toMatchObject({ nodeId: 'no-such-node', points: [] })
    })

    it('drops each resolution after its retention while coarser history stays', async () => {
      const a = await account()
      const n = await node(a.id)
      const now = Math.floor(Date.now() / (15 * 60_000)) * 15 * 60_000
      const start = now - HOUR
      const samples: MetricsSampleInput[] = []
      for (let at = start; at < now; at += 30_000) samples.push(sample(n.id, at, 25))
      await store.appendMetrics(a.id, samples)
      await store.maintainMetrics(new Date(now))
      const later = new Date(now + 2 * 24 * HOUR)
      const result = await store.maintainMetrics(later)
      expect(result.pruned).toBeGreaterThanOrEqual(samples.length)
      expect((await store.queryMetrics(a.id, n.id, { from: iso(start), to: iso(now - 1), resolution: 'raw', now: later })).points).toEqual([])
      const chosen = await store.queryMetrics(a.id, n.id, { from: iso(start), to: iso(now - 1), now: later })
      expect(chosen.resolution).toBe('1m')
      expect(chosen.points).toHaveLength(60)
      expect(chosen.points.every((p) => p.cpuPercent === 25)).toBe(true)
      const muchLater = new Date(now + 30 * 24 * HOUR)
      await store.maintainMetrics(muchLater)
      const old = await store.queryMetrics(a.id, n.id, { from: iso(start), to: iso(now - 1), now: muchLater })
      expect(old.resolution).toBe('15m')
      expect(old.points.map((p) => p.samples)).toEqual([30, 30, 30, 30])
      expect((await store.queryMetrics(a.id, n.id, { from: iso(start), to: iso(now), resolution: '1m', now: muchLater })).points).toEqual([])
    })

    it('keeps the host figures (load, swap, network and disk I/O per device, temperatures) at every resolution, and prunes them with their tier', async () => {
      const a = await account()
      const n = await node(a.id)
      const now = Math.floor(Date.now() / (15 * 60_000)) * 15 * 60_000
      const start = now - HOUR
      const extras = (low: boolean) => ({
        loadAverage: low ? [0.5, 1, 2] : [1.5, 1, 2],
        swapUsedMB: low ? 100 : 300,
        swapTotalMB: 2048,
        network: [{ interface: 'eth0', rxBytesPerSec: low ? 1000 : 3000, txBytesPerSec: 500 }],
        diskIo: [{ device: 'sda', readBytesPerSec: low ? 0 : 4096, writeBytesPerSec: 8192 }],
        temperatures: [{ sensor: 'coretemp Package id 0', celsius: low ? 40 : 50 }],
      })
      const samples: MetricsSampleInput[] = []
      for (let at = start; at < now; at += 30_000) samples.push(sample(n.id, at, 10, extras((at / 30_000) % 2 === 0)))
      // An original agent's sample (no host figures) beside them stores and reads as before.
      const plain = await node(a.id)
      samples.push(sample(plain.id, start, 10))
      await store.appendMetrics(a.id, samples)

      const raw = await store.queryMetrics(a.id, n.id, { from: iso(start), to: iso(start + 30_000), resolution: 'raw', now: new Date(now) })
      expect(raw.points[0]!.host).toEqual({
        load1: 0.5, load5: 1, load15: 2, swapUsedMb: 100, swapTotalMb: 2048, 'net.rx.eth0': 1000, 'net.tx.eth0': 500,
        'io.read.sda': 0, 'io.write.sda': 8192, 'temp.coretemp Package id 0': 40,
      })
      expect((await store.queryMetrics(a.id, plain.id, { from: iso(start), to: iso(now), resolution: 'raw', now: new Date(now) })).points[0]!.host).toBeUndefined()

      await store.maintainMetrics(new Date(now))
      const averaged = { load1: 1, load5: 1, load15: 2, swapUsedMb: 200, swapTotalMb: 2048, 'net.rx.eth0': 2000, 'net.tx.eth0': 500, 'io.read.sda': 2048, 'io.write.sda': 8192, 'temp.coretemp Package id 0': 45 }
      const close = (host: Record<string, number> | undefined) => Object.fromEntries(Object.entries(host ?? {}).map(([k, v]) => [k, Math.round(v * 100) / 100]))
      const minute = await store.queryMetrics(a.id, n.id, { from: iso(start), to: iso(now - 1), resolution: '1m', now: new Date(now) })
      expect(minute.points).toHaveLength(60)
      expect(minute.points.map((p) => close(p.host))).toEqual(minute.points.map(() => averaged))
      const quarter = await store.queryMetrics(a.id, n.id, { from: iso(start), to: iso(now - 1), resolution: '15m', now: new Date(now) })
      expect(quarter.points).toHaveLength(4)
      expect(quarter.points.map((p) => close(p.host))).toEqual(quarter.points.map(() => averaged))

      // Each tier goes with its retention: raw after a day, minutes after a week, quarter hours after 90 days.
      const later = new Date(now + 2 * 24 * HOUR)
      await store.maintainMetrics(later)
      expect((await store.queryMetrics(a.id, n.id, { from: iso(start), to: iso(now - 1), resolution: 'raw', now: later })).points).toEqual([])
      expect((await store.queryMetrics(a.id, n.id, { from: iso(start), to: iso(now - 1), resolution: '1m', now: later })).points.every((p) => close(p.host)['net.rx.eth0'] === 2000)).toBe(true)
      const muchLater = new Date(now + 30 * 24 * HOUR)
      await store.maintainMetrics(muchLater)
      expect((await store.queryMetrics(a.id, n.id, { from: iso(start), to: iso(now - 1), resolution: '1m', now: muchLater })).points).toEqual([])
      expect((await store.queryMetrics(a.id, n.id, { from: iso(start), to: iso(now - 1), resolution: '15m', now: muchLater })).points.map((p) => close(p.host))).toEqual(quarter.points.map(() => averaged))
      const gone = new Date(now + 100 * 24 * HOUR)
      await store.maintainMetrics(gone)
      expect((await store.queryMetrics(a.id, n.id, { from: iso(start), to: iso(now + HOUR), resolution: '15m', now: gone })).points).toEqual([])
    })

    it('keeps per-container CPU and memory: one point per container and minute, bounded per sample, per account, and pruned with raw samples', async () => {
      const a = await account()
      const b = await account('other')
      const n = await node(a.id)
      const t = Math.floor((Date.now() - 10 * 60_000) / 60_000) * 60_000
      const withContainers = (at: number, cpu: number, extra: unknown[] = []) => ({
        ...sample(n.id, at, 10),
        containers: [{ name: 'web', id: 'abc', image: 'nginx', state: 'running', cpuPercent: cpu, memoryMB: 64 + cpu }, { name: 'db', memoryMB: 300 }, 'old-agent-name', ...extra],
      })
      const crowd = Array.from({ length: 150 }, (_, i) => ({ name: `crowd-${String(i).padStart(3, '0')}`, cpuPercent: 1, memoryMB: 1 }))
      await store.appendMetrics(a.id, [withContainers(t, 5, crowd), withContainers(t + 30_000, 50), withContainers(t + 60_000, 7)])
      // Another account naming the same node id reaches nothing of this one.
      await store.appendMetrics(b.id, [{ ...withContainers(t + 120_000, 99), agentId: n.id }])

      const all = await store.queryContainerMetrics(a.id, n.id, { from: iso(t - 1000), to: iso(t + 10 * 60_000) })
      // At most 100 containers of a sample are kept (web and db come first).
      expect(all).toHaveLength(100)
      expect(all.map((c) => c.name)).toEqual(expect.arrayContaining(['web', 'db', 'crowd-000', 'crowd-097']))
      expect(all.map((c) => c.name)).not.toContain('crowd-098')
      const web = all.find((c) => c.name === 'web')!
      // The first sample of a minute stands for it; a later one in the same minute is not stored again.
      expect(web.points).toEqual([
        { at: iso(t), cpuPercent: 5, memoryMb: 69 },
        { at: iso(t + 60_000), cpuPercent: 7, memoryMb: 71 },
      ])
      expect((await store.queryContainerMetrics(a.id, n.id, { from: iso(t - 1000), to: iso(t + 10 * 60_000), container: 'db' }))).toEqual([
        { name: 'db', points: [{ at: iso(t), cpuPercent: null, memoryMb: 300 }, { at: iso(t + 60_000), cpuPercent: null, memoryMb: 300 }] },
      ])
      expect(await store.queryContainerMetrics(b.id, n.id, { from: iso(t - 1000), to: iso(t + 10 * 60_000) })).toEqual([])
      await expect(store.queryContainerMetrics(a.id, n.id, { from: 'soon', to: iso(t) })).rejects.toMatchObject({ status: 400 })

      await store.maintainMetrics(new Date(t + 2 * 24 * HOUR))
      expect(await store.queryContainerMetrics(a.id, n.id, { from: iso(t - 1000), to: iso(t + 10 * 60_000) })).toEqual([])
      await store.appendMetrics(a.id, [withContainers(Date.now() - 1000, 3)])
      await store.deleteNode(a.id, n.id)
      expect(await store.queryContainerMetrics(a.id, n.id, { from: iso(Date.now() - HOUR), to: iso(Date.now()) })).toEqual([])
    })

    it('reports the disk its metrics take, where the store can tell', async () => {
      if (store.metricsBytes === undefined) return expect(store.kind).toBe('memory')
      expect(await store.metricsBytes()).toBeGreaterThan(0)
    })

    alertingCases(() => store, account)

    if (harness.durable) {
      it('keeps everything across a close and reopen', async () => {
        const a = await account('durable')
        const n = await node(a.id)
        const k = await store.createKey(key(a.id))
        const s = await store.upsertStack(stack(a.id))
        await store.appendMetrics(a.id, [sample(n.id, Date.now() - 2000, 42)])
        await store.close()
        store = await harness.open()
        expect(await store.getAccount(a.id)).toEqual(a)
        expect((await store.getNode(a.id, n.id))?.hostname).toBe(n.hostname)
        expect(await store.findKeyByHash(k.keyHash)).toEqual(k)
        expect(await store.getStack(a.id, s.id)).toEqual(s)
        const series = await store.queryMetrics(a.id, n.id, { from: iso(Date.now() - HOUR), to: iso(Date.now()) })
        expect(series.points.map((p) => p.cpuPercent)).toEqual([42])
      })
    }
  })
}
