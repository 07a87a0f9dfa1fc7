// Which hub a mid-tier given several prefers: the same one for the same mid-tier id across restarts,
// spread over the hubs across ids (or the first, with hubPreference first); and every URL counts,
// whether given comma-separated or as a repeated --hub-url.
import { describe, expect, it } from 'vitest'
import { preferredHubIndex } from '../../plugins/midtier-relay/hub-link.ts'
import { freePort, spawnThresh, tempHome, waitForOutput } from '../support/process.ts'

describe('a mid-tier over several hubs', () => {
  it('prefers the same hub for the same id, and mid-tiers with the same list spread over all hubs', () => {
    const ids = Array.from({ length: 300 }, (_, i) => `mid-${i}`)
    const counts = [0, 0, 0]
    for (const id of ids) counts[preferredHubIndex(id, 3)]!++
    for (const count of counts) expect(count).toBeGreaterThan(60)
    expect(ids.map((id) => preferredHubIndex(id, 3))).toEqual(ids.map((id) => preferredHubIndex(id, 3)))
    expect(new Set(ids.map((id) => preferredHubIndex(id, 3, 'first')))).toEqual(new Set([0]))
  })

  it('takes every URL of a repeated --hub-url, and says when none of them answers', async () => {
    const [a, b] = [await freePort(), await freePort()]
    const mid = spawnThresh('node', ['run', '--role', 'midtier', '--no-tls', '--host', '127.0.0.1', '--port', '0', '--hub-url', `http://127.0.0.1:${a}`, `--hub-url=http://127.0.0.1:${b}`], {
      THRESH_HOME: tempHome('thresh-mid-hubs-'),
      THRESH_API_KEY: 'thresh_mid_test_0123456789abcdef',
    })
    try {
      await waitForOutput(mid, 'Cannot reach any of the 2 hubs', 30_000)
      expect(mid.output()).toContain(`127.0.0.1:${a}`)
      expect(mid.output()).toContain(`127.0.0.1:${b}`)
    } finally {
      await mid.stop()
    }
  })
})
