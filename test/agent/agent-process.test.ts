// The agent process on Node runs without V8's optimizing compiler (bin/thresh.mjs sets --no-opt for
// `run --role agent` and `agent start --foreground`), which keeps its memory flat; V8's --trace-opt
// shows which functions get optimized. Other roles are not affected.
import { spawn } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { freePort, repoRoot, tempHome, waitForHttp } from '../support/process.ts'
import { AGENT_KEY, startAgentTestServer, type AgentTestServer } from './agent-test-server.ts'

const servers: AgentTestServer[] = []
afterAll(async () => {
  await Promise.all(servers.map((s) => s.stop()))
})

/** Runs `node --trace-opt bin/thresh.mjs ...args` until its /health answers and a few metric samples went out; returns what it traced. */
async function traceOptimizations(args: string[], port: number, home: string): Promise<string[]> {
  const child = spawn(process.execPath, ['--trace-opt', join(repoRoot, 'bin/thresh.mjs'), ...args], { cwd: repoRoot, env: { ...process.env, THRESH_HOME: home, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  child.stdout.on('data', (chunk) => (output += chunk))
  child.stderr.on('data', (chunk) => (output += chunk))
  const exited = new Promise((resolve) => child.once('exit', resolve))
  try {
    await waitForHttp(`http://127.0.0.1:${port}/health`)
    await new Promise((r) => setTimeout(r, 1500))
  } finally {
    child.kill('SIGTERM')
    await exited
  }
  return output.split('\n').filter((line) => line.includes('completed optimizing'))
}

describe('the agent process on Node', () => {
  it('optimizes nothing, whether started with run --role agent or agent start --foreground', async () => {
    const server = await startAgentTestServer()
    servers.push(server)
    for (const start of [['run', '--role', 'agent'], ['run', '--role=agent'], ['agent', 'start', '--foreground']]) {
      const home = tempHome('thresh-agent-opt-')
      const port = await freePort()
      const config = join(home, 'agent-config.json')
      writeFileSync(config, JSON.stringify({ midtierUrl: server.url, apiKey: AGENT_KEY, metricsInterval: '100ms' }))
      expect(await traceOptimizations([...start, '--port', String(port), '--config', config], port, home), start.join(' ')).toEqual([])
    }
  })

  it('while the same trace shows optimized functions for another role', async () => {
    const port = await freePort()
    const traced = await traceOptimizations(['run', '--role', 'midtier', '--no-tls', '--port', String(port), '--host', '127.0.0.1', '--hub-url', 'http://127.0.0.1:9', '--api-key', 'thresh_mid_test_0123456789abcdef'], port, tempHome('thresh-midtier-opt-'))
    expect(traced.length).toBeGreaterThan(0)
  })
})
