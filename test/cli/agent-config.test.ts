// `thresh agent config set|get|list`: validated settings in $THRESH_HOME/agent.json, mode 600, keys masked.
import { readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { tempHome } from '../support/process.ts'
import { thresh } from './cli.ts'

const key = 'thresh_live_acct42_' + 'a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6'

describe('thresh agent config', () => {
  it('lists every contract key with its default before anything is set', async () => {
    const home = tempHome()
    const result = await thresh(['agent', 'config', 'list'], { THRESH_HOME: home })
    expect(result.code).toBe(0)
    for (const k of ['midtier-url', 'fallback-url', 'api-key', 'fallback-api-key', 'tls-verify', 'transport', 'auto-failover', 'failback-delay', 'metrics-interval', 'reconnect-delay', 'node-name']) {
      expect(result.stdout).toMatch(new RegExp(`^${k}\\s`, 'm'))
    }
    expect(result.stdout).toMatch(/^metrics-interval\s+30s\s+\(default\)$/m)
    expect(result.stdout).toMatch(/^reconnect-delay\s+5s\s+\(default\)$/m)
    expect(result.stdout).toMatch(/^transport\s+auto\s+\(default\)$/m)
  })

  it('stores what is set in agent.json readable only by its owner, and reads it back', async () => {
    const home = tempHome()
    const env = { THRESH_HOME: home }
    expect((await thresh(['agent', 'config', 'set', 'midtier-url', 'https://mid.example:5000/'], env)).code).toBe(0)
    expect((await thresh(['agent', 'config', 'set', 'transport', 'rest'], env)).code).toBe(0)
    expect((await thresh(['agent', 'config', 'set', 'metrics-interval', '15'], env)).code).toBe(0)
    expect((await thresh(['agent', 'config', 'set', 'auto-failover', 'true'], env)).code).toBe(0)

    const path = join(home, 'agent.json')
    expect(statSync(path).mode & 0o777).toBe(0o600)
    expect(JSON.parse(readFileSync(path, 'utf8'))).toEqual({
      midtierUrl: 'https://mid.example:5000',
      transport: 'rest',
      metricsInterval: '15s',
      autoFailover: true,
    })
    const get = await thresh(['agent', 'config', 'get', 'midtier-url'], env)
    expect(get).toMatchObject({ code: 0, stdout: 'https://mid.example:5000\n' })
    const list = await thresh(['agent', 'config', 'list', '--json'], env)
    expect(JSON.parse(list.stdout)).toMatchObject({ transport: 'rest', 'metrics-interval': '15s', 'auto-failover': true, 'reconnect-delay': '5s', 'node-name': null })
  })

  it('keeps the host directories stacks may bind-mount, refusing relative ones', async () => {
    const env = { THRESH_HOME: tempHome() }
    expect((await thresh(['agent', 'config', 'set', 'allowed-bind-paths', '/srv/app, /data'], env)).code).toBe(0)
    expect(JSON.parse(readFileSync(join(env.THRESH_HOME, 'agent.json'), 'utf8'))).toEqual({ allowedBindPaths: ['/srv/app', '/data'] })
    const refused = await thresh(['agent', 'config', 'set', 'allowed-bind-paths', 'srv/app'], env)
    expect(refused.code).not.toBe(0)
    expect(refused.stderr).toContain('absolute paths, comma-separated')
  })

  it('refuses an unknown key with the list of valid keys, and changes nothing', async () => {
    const home = tempHome()
    const result = await thresh(['agent', 'config', 'set', 'hub-url', 'https://x'], { THRESH_HOME: home })
    expect(result.code).not.toBe(0)
    expect(result.stderr.trim().split('\n')).toHaveLength(1)
    expect(result.stderr).toContain("Unknown agent config key 'hub-url'")
    expect(result.stderr).toContain('valid keys: midtier-url, fallback-url, api-key, fallback-api-key, hub-fingerprint, tls-verify, transport, auto-failover, failback-delay, reconnect-delay, node-name, metrics-interval, container-stats-interval, default-proxy, container-events, restart-loop-count, restart-loop-window, allow-exec, allowed-bind-paths.')
    expect(result.stdout).toBe('')
  })

  it.each([
    ['transport', 'websocket', 'auto, signalr or rest'],
    ['tls-verify', 'maybe', 'true or false'],
    ['metrics-interval', 'soon', 'a duration'],
    ['metrics-interval', '0', 'at least 100ms'],
    ['midtier-url', 'ftp://mid.example', 'http:// or https:// URL'],
    ['node-name', 'has spaces', 'a host name'],
    ['api-key', 'thresh_mid_acct42_a1B2c3D4e5F6g7H8i9J0', 'thresh_live_<account>_<secret>'],
  ])('refuses %s = %s and names the valid values', async (k, value, valid) => {
    const home = tempHome()
    const result = await thresh(['agent', 'config', 'set', k, value], { THRESH_HOME: home })
    expect(result.code).not.toBe(0)
    expect(result.stderr).toContain(`for ${k}; valid values:`)
    expect(result.stderr).toContain(valid)
    expect(() => statSync(join(home, 'agent.json'))).toThrow()
  })

  it('never prints an API key in full: set, get and list show it masked', async () => {
    const home = tempHome()
    const env = { THRESH_HOME: home }
    const set = await thresh(['agent', 'config', 'set', 'api-key', key], env)
    const get = await thresh(['agent', 'config', 'get', 'api-key'], env)
    const list = await thresh(['agent', 'config', 'list'], env)
    const json = await thresh(['agent', 'config', 'list', '--json'], env)
    for (const result of [set, get, list, json]) {
      expect(result.code).toBe(0)
      expect(result.stdout + result.stderr).not.toContain(key)
      expect(result.stdout).toContain('thresh_live_****o5P6')
    }
    expect(JSON.parse(readFileSync(join(home, 'agent.json'), 'utf8')).apiKey).toBe(key)
  })

  it('keeps fields the agent itself stores in agent.json when a setting changes', async () => {
    const home = tempHome()
    const { writeFileSync } = await import('node:fs')
    writeFileSync(join(home, 'agent.json'), JSON.stringify({ agentId: 'keep-me', transport: 'auto' }))
    expect((await thresh(['agent', 'config', 'set', 'node-name', 'edge-01'], { THRESH_HOME: home })).code).toBe(0)
    expect(JSON.parse(readFileSync(join(home, 'agent.json'), 'utf8'))).toEqual({ agentId: 'keep-me', transport: 'auto', nodeName: 'edge-01' })
  })

  it('an unset setting is an error for get, so scripts can tell', async () => {
    const result = await thresh(['agent', 'config', 'get', 'fallback-url'], { THRESH_HOME: tempHome() })
    expect(result.code).not.toBe(0)
    expect(result.stderr).toContain('fallback-url is not set')
  })
})
