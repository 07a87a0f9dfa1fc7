// Two hubs on one PostgreSQL whose listening connections drop (a database restart or a failover does
// that): a command relayed while they were away still completes, because each hub, once it listens
// again, reads the commands relayed to it and the results of its own asks from the database.
// The hubs get a database of their own, so the test can refuse new connections to it (the listening
// connections cannot come back) while the hubs' pools, opened before, keep working.
import { randomBytes } from 'node:crypto'
import postgres from 'postgres'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { requireTool } from '../support/require.ts'
import { connectAgent, databaseUrl, eventually, startHub, type TestAgent, type TestHub } from './support.ts'

requireTool('postgres')

const database = `thresh_relisten_${randomBytes(5).toString('hex')}`
const hubUrl = databaseUrl.replace(/\/[^/?]*(\?|$)/, `/${database}$1`)
const admin = postgres(databaseUrl, { max: 1, onnotice: () => {} })
let inside: ReturnType<typeof postgres>
let asker: TestHub
let holder: TestHub
let agent: TestAgent | undefined
const config = { databaseUrl: hubUrl, offlineAfter: '10m', hubLeaseTtl: '10s', commandTimeout: '45s' }

const listeners = () => admin.unsafe(`select pid from pg_stat_activity where datname = $1 and query like 'listen %'`, [database])
const allowConnections = (allow: boolean) => admin.unsafe(`alter database "${database}" allow_connections ${allow}`)

beforeAll(async () => {
  await admin.unsafe(`create database "${database}"`)
  inside = postgres(hubUrl, { max: 1, onnotice: () => {} })
  await inside.unsafe('select 1') // connected now: it must keep working while new connections are refused
  holder = await startHub({ storage: 'postgres', config })
  asker = await startHub({ storage: 'postgres', schema: holder.schema, config })
}, 120_000)

afterAll(async () => {
  await allowConnections(true).catch(() => {})
  await agent?.close().catch(() => {})
  await asker?.stop()
  await holder?.stop()
  await inside?.end()
  await admin.unsafe(`drop database if exists "${database}" with (force)`).catch(() => {})
  await admin.end()
})

describe('hubs whose listening connections dropped', () => {
  it('finish a command relayed while neither listened, once they listen again', async () => {
    const onHolder = await holder.login()
    const onAsker = await asker.login()
    const key = (await holder.request('POST', '/api/keys', { token: onHolder, body: { type: 'agent', name: 'relisten' } })).body.key
    agent = await connectAgent(holder, key, 'relisten-node', async (command) =>
      command.tool === 'list_blueprints' ? { success: true, output: JSON.stringify([{ name: 'redis', description: 'cache' }]) } : { success: false, error: 'unexpected' },
    )
    await eventually(async () => ((await asker.request('GET', '/api/nodes/relisten-node', { token: onAsker })).body.status === 'online' ? true : undefined), 10_000, 'the node online on the asking hub')
    // Open the hubs' pool connections now: while new connections are refused they work with these.
    for (const hub of [holder, asker]) {
      const token = hub === holder ? onHolder : onAsker
      await Promise.all(Array.from({ length: 8 }, () => hub.request('GET', '/api/nodes', { token })))
    }
    expect((await asker.request('GET', '/api/nodes/relisten-node/blueprints', { token: onAsker })).status).toBe(200)

    await allowConnections(false)
    const killed = await admin.unsafe(`select pg_terminate_backend(pid) from pg_stat_activity where datname = $1 and query like 'listen %'`, [database])
    expect(killed.length).toBeGreaterThanOrEqual(2)
    await eventually(async () => ((await listeners()).length === 0 ? true : undefined), 10_000, 'no hub listening')

    const asked = asker.request('GET', '/api/nodes/relisten-node/blueprints', { token: onAsker })
    asked.catch(() => {}) // awaited below; a failure before then must not be unhandled
    // The command is relayed (its row stored, its wake-up sent to nobody) before anyone listens again.
    await eventually(
      async () => ((await inside.unsafe(`select 1 from "${holder.schema}".commands where tool = 'list_blueprints' and status = 'sent'`)).length > 0 ? true : undefined),
      20_000,
      'the command relayed to the holding hub',
    )
    expect((await listeners()).length).toBe(0)
    await allowConnections(true)

    const answer = await asked
    expect(answer.status, JSON.stringify(answer.body)).toBe(200)
    expect(JSON.stringify(answer.body)).toContain('redis')
    await eventually(async () => ((await listeners()).length >= 2 ? true : undefined), 20_000, 'both hubs listening again')
    expect(holder.proc.output()).toContain('Listening for other hubs again')
  }, 120_000)
})
