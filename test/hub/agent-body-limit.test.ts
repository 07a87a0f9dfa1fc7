// Issue #14: a chunked body to /api/agent/* (no Content-Length) is cut off at the 1 MiB limit while it
// streams in, on a hub and on an external mid-tier: the answer is 413 and the server's memory stays flat.
import { readFileSync } from 'node:fs'
import { request } from 'node:http'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { freePort, spawnThresh, tempHome, waitForHttp, waitForOutput, type ThreshProcess } from '../support/process.ts'
import { agentInfo, startHub, type TestHub } from './support.ts'

const MiB = 1024 * 1024
const BODY = 200 * MiB

const rssOf = (pid: number) => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) * 1024

/** Streams a `size`-byte chunked JSON body until the server answers or hangs up; resolves with the status. */
function sendChunked(url: string, headers: Record<string, string>, size: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const chunk = Buffer.alloc(MiB, 'x')
    let status: number | undefined
    const req = request(url, { method: 'POST', headers: { ...headers, 'content-type': 'application/json', 'transfer-encoding': 'chunked' } }, (res) => {
      status = res.statusCode
      res.resume()
      res.on('end', () => {
        req.destroy()
        resolve(status)
      })
    })
    req.on('error', () => resolve(status))
    req.on('close', () => resolve(status))
    let sent = 0
    const pump = () => {
      while (sent < size && status === undefined && !req.destroyed) {
        sent += chunk.length
        if (!req.write(sent === chunk.length ? Buffer.concat([Buffer.from('{"pad":"'), chunk]) : chunk)) return void req.once('drain', pump)
      }
      if (sent >= size && !req.destroyed) req.end('"}')
    }
    pump()
  })
}

async function expectBounded(pid: number, url: string, headers: Record<string, string>) {
  const before = rssOf(pid)
  const status = await sendChunked(url, headers, BODY)
  await new Promise((r) => setTimeout(r, 500))
  const grown = rssOf(pid) - before
  expect(status).toBe(413)
  // Reading the whole body cost ~3x its size (618 MiB for 200 MiB); the limit allows 1 MiB plus buffers.
  expect(grown).toBeLessThan(64 * MiB)
}

let hub: TestHub
let key: string
let midtier: ThreshProcess | undefined
let midtierUrl: string
beforeAll(async () => {
  hub = await startHub({ storage: 'memory' })
  const token = await hub.login()
  key = (await hub.request('POST', '/api/keys', { token, body: { type: 'agent', name: 'big' } })).body.key
  const mid = (await hub.request('POST', '/api/keys', { token, body: { type: 'midtier', name: 'mid' } })).body.key
  const port = await freePort()
  midtierUrl = `http://127.0.0.1:${port}`
  midtier = spawnThresh('node', ['run', '--role', 'midtier', '--no-tls', '--host', '127.0.0.1', '--port', String(port), '--hub-url', hub.url, '--api-key', mid], {
    THRESH_HOME: tempHome('thresh-midtier-'),
  })
  await waitForHttp(`${midtierUrl}/health`, midtier, 60_000)
  await waitForOutput(midtier, 'listening', 60_000)
}, 90_000)
afterAll(async () => {
  await midtier?.stop()
  await hub?.stop()
})

describe('chunked bodies to /api/agent/*', () => {
  it('a hub answers 413 to a 200 MiB chunked metrics report without reading it into memory', async () => {
    const agentId = 'big-body-hub'
    const headers = { authorization: `Bearer ${key}`, 'x-agent-id': agentId }
    expect((await hub.request('POST', '/api/agent/register', { token: key, body: agentInfo(agentId, agentId) })).status).toBe(200)
    await expectBounded(hub.proc.child.pid!, `${hub.url}/api/agent/metrics`, headers)
    // The hub still serves agents afterwards.
    expect((await hub.request('POST', '/api/agent/register', { token: key, body: agentInfo(agentId, agentId) })).status).toBe(200)
  }, 60_000)

  it('an external mid-tier answers 413 to a 200 MiB chunked registration without reading it into memory', async () => {
    await expectBounded(midtier!.child.pid!, `${midtierUrl}/api/agent/register`, { authorization: `Bearer ${key}`, 'x-agent-id': 'big-body-mid' })
    const ok = await fetch(`${midtierUrl}/api/agent/register`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify(agentInfo('big-body-mid', 'big-body-mid')),
    })
    expect(ok.status).toBe(200)
  }, 60_000)
})
