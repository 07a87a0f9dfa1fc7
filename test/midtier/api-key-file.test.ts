// A mid-tier given its key in a file (`--api-key-file`), as a real process: it connects, and the key
// never shows in the command line other users of the machine can read (`ps`, /proc/<pid>/cmdline).
import { chmodSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { createSignalRAgentClient } from '../../lib/agent-session/agent/index.ts'
import { freePort, spawnThresh, tempHome, waitForHttp, type ThreshProcess } from '../support/process.ts'
import { addKey, startTestHub } from './test-hub.ts'
import { agentInfo, waitFor } from './helpers.ts'

const cleanup: Array<() => Promise<unknown>> = []
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step().catch(() => {})
})

function midtier(hubUrl: string, port: number, home: string, args: string[]): ThreshProcess {
  const proc = spawnThresh('node', ['run', '--role', 'midtier', '--no-tls', '--host', '127.0.0.1', '--port', String(port), '--hub-url', hubUrl, ...args], { THRESH_HOME: home, THRESH_API_KEY: '' })
  cleanup.push(() => proc.stop('SIGKILL'))
  return proc
}

function oneLine(proc: ThreshProcess): string {
  const lines = proc.output().trim().split('\n')
  expect(lines).toHaveLength(1)
  return lines[0]!
}

describe('a mid-tier key in a file', () => {
  it('connects with --api-key-file and its command line does not show the key', async () => {
    const hub = await startTestHub()
    cleanup.push(() => hub.close())
    const midKey = addKey(hub, 'mid')
    const home = tempHome('thresh-midtier-keyfile-')
    const keyFile = join(home, 'mid.key')
    writeFileSync(keyFile, midKey + '\n', { mode: 0o600 })
    const port = await freePort()
    const proc = midtier(hub.url, port, home, ['--api-key-file', keyFile])
    await waitForHttp(`http://127.0.0.1:${port}/health`, proc)

    const agent = createSignalRAgentClient({ url: `http://127.0.0.1:${port}`, apiKey: addKey(hub, 'live'), transports: ['WebSockets'], reconnectDelayMs: 50, maxReconnectDelayMs: 200 })
    cleanup.push(() => agent.close())
    await agent.connect(agentInfo('keyfile-agent-1'))
    await waitFor('the agent on the hub, through the mid-tier', () => hub.state.nodes.get('keyfile-agent-1')?.online)

    const cmdline = readFileSync(`/proc/${proc.child.pid}/cmdline`, 'utf8').split('\0')
    expect(cmdline).toContain('--api-key-file')
    expect(cmdline.join(' ')).not.toContain(midKey)
    expect(proc.output()).not.toContain(midKey)
    expect(proc.output()).not.toContain('visible to every user')
  }, 60_000)

  it('still takes --api-key on the command line, warning that ps shows it', async () => {
    const hub = await startTestHub()
    cleanup.push(() => hub.close())
    const midKey = addKey(hub, 'mid')
    const port = await freePort()
    const proc = midtier(hub.url, port, tempHome('thresh-midtier-keyflag-'), ['--api-key', midKey])
    await waitForHttp(`http://127.0.0.1:${port}/health`, proc)
    await waitFor('the warning', () => proc.output().includes('--api-key on the command line is visible to every user of this machine (ps); use --api-key-file PATH or THRESH_API_KEY instead.'))
    expect(proc.output()).not.toContain(midKey)
  }, 60_000)

  it('refuses a missing key file, a directory, or an empty file with one sentence naming it', async () => {
    const home = tempHome('thresh-midtier-nokey-')
    const empty = join(home, 'empty.key')
    writeFileSync(empty, '\n')
    for (const [path, reason] of [
      [join(home, 'missing.key'), 'it does not exist'],
      [home, 'it is a directory'],
    ] as const) {
      const proc = midtier('http://127.0.0.1:9', await freePort(), home, ['--api-key-file', path])
      expect(await proc.exited).not.toBe(0)
      expect(oneLine(proc)).toBe(`[thresh] [midtier-relay] Plugin 'midtier-relay' failed to start: Cannot read --api-key-file ${path}: ${reason}.`)
    }
    const proc = midtier('http://127.0.0.1:9', await freePort(), home, ['--api-key-file', empty])
    expect(await proc.exited).not.toBe(0)
    expect(oneLine(proc)).toBe(`[thresh] [midtier-relay] Plugin 'midtier-relay' failed to start: --api-key-file ${empty} is empty.`)
  }, 60_000)

  it('refuses a key file other users of the machine can read, saying how to fix it', async () => {
    // Outside THRESH_HOME, which the mid-tier makes owner-only at start anyway.
    const elsewhere = tempHome('thresh-keyfile-open-')
    const open = join(elsewhere, 'mid.key')
    writeFileSync(open, 'thresh_mid_acct_0123456789abcdef0123456789abcdef\n')
    chmodSync(open, 0o644)
    const proc = midtier('http://127.0.0.1:9', await freePort(), tempHome('thresh-midtier-openkey-'), ['--api-key-file', open])
    expect(await proc.exited).not.toBe(0)
    expect(oneLine(proc)).toBe(`[thresh] [midtier-relay] Plugin 'midtier-relay' failed to start: --api-key-file ${open} can be read by other users of this machine; make it owner-only with chmod 600 ${open}.`)
    expect(proc.output()).not.toContain('0123456789abcdef')
  }, 60_000)
})
