// The agent's small parts that decide behaviour users see: the bounded outbox for metrics taken
// offline, which errors count as a refused key, how command arguments become a stack, and the
// account taken from the key.
import { describe, expect, it } from 'vitest'
import { createOutbox, isAuthError } from '../../plugins/agent-connection/index.ts'
import { stackFromArguments } from '../../plugins/agent-commands/index.ts'
import { accountOfKey } from '../../plugins/agent-connection/index.ts'

describe('the metrics outbox', () => {
  it('keeps the newest samples when full, counts the dropped ones, and sends in order once it can', async () => {
    const box = createOutbox<number>(3)
    for (let i = 1; i <= 5; i++) box.push(i)
    expect(box.size).toBe(3)
    expect(box.dropped).toBe(2)
    const sent: number[] = []
    let fail = true
    await box.drain(async (n) => {
      if (fail) throw new Error('offline')
      sent.push(n)
    })
    expect(box.size).toBe(3)
    fail = false
    await box.drain(async (n) => void sent.push(n))
    expect(sent).toEqual([3, 4, 5])
    expect(box.size).toBe(0)
    // An empty drain must not block the next one.
    await box.drain(async () => {})
    box.push(6)
    await box.drain(async (n) => void sent.push(n))
    expect(sent).toEqual([3, 4, 5, 6])
  })
})

describe('refused keys', () => {
  it('treats 401 and 403 as auth errors and network failures as outages', () => {
    expect(isAuthError(Object.assign(new Error('x'), { status: 401 }))).toBe(true)
    expect(isAuthError(Object.assign(new Error('x'), { statusCode: 403 }))).toBe(true)
    expect(isAuthError(new Error("Failed to complete negotiation with the server: Error: Unauthorized: Status code '401'"))).toBe(true)
    expect(isAuthError(new Error('connect ECONNREFUSED 127.0.0.1:5000'))).toBe(false)
  })
})

describe('command arguments', () => {
  it("accepts the hub's deploy_stack payload and a full stack definition in either form", () => {
    const hub = stackFromArguments({
      stackId: 'id-1',
      stackName: 'shop',
      account: 'acct1',
      traefik: false,
      services: [
        { name: 'db', image: 'postgres:16', ports: ['5432:5432'], volumes: ['pg:/var/lib/postgresql/data'], env: {}, dependsOn: [], traefik: false },
        { name: 'api', image: 'docker:api:1', ports: [{ host: 8080, container: 80, protocol: 'tcp', hostIp: '127.0.0.1' }], volumes: [], env: { DB: 'db:5432' }, dependsOn: ['db'], traefik: false, route: '' },
      ],
    })
    expect(hub.stackId).toBe('id-1')
    expect(hub.stack.name).toBe('shop')
    expect(hub.stack.services.map((s) => [s.name, s.image, s.dependsOn])).toEqual([['db', 'postgres:16', []], ['api', 'api:1', ['db']]])
    expect(hub.stack.services[1]!.ports[0]).toMatchObject({ host: 8080, container: 80, hostIp: '127.0.0.1' })

    const full = stackFromArguments({ stack: { name: 'web', services: { app: { image: 'nginx', depends_on: [] } } } })
    expect(full).toMatchObject({ stackId: 'web', stack: { name: 'web' } })
    expect(stackFromArguments({ name: 'bare', services: [{ name: 'x', image: 'nginx' }] }).stack.name).toBe('bare')
  })

  it('names every problem of an invalid stack', () => {
    expect(() => stackFromArguments({ stackName: 'BAD', services: [{ name: 'a', image: 'x', dependsOn: ['nope'] }] })).toThrow(/name: .*DNS label.*Unknown service "nope"/)
  })

  it('takes the stack account from a live key', () => {
    expect(accountOfKey('thresh_live_acct1_0123456789abcdef')).toBe('acct1')
    expect(accountOfKey('thresh_mid_acct1_0123')).toBeUndefined()
    expect(accountOfKey(undefined)).toBeUndefined()
  })
})
