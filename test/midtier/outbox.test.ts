// The mid-tier's outbox and its journal: order kept, the bound held by dropping the oldest samples,
// and a restart (even mid-write) resumes with exactly the samples and results the hub has not acknowledged.
import { appendFileSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { openJournal } from '../../plugins/midtier-relay/journal.ts'
import { createOutbox, type RelayOp } from '../../plugins/midtier-relay/outbox.ts'
import { tempHome } from '../support/process.ts'
import { agentInfo, sample } from './helpers.ts'

const metricsOp = (agentId: string, seq: number): RelayOp => ({ kind: 'metrics', agentId, sample: sample(agentId, seq) })
const register = (agentId: string): RelayOp => ({ kind: 'register', agentId, info: agentInfo(agentId), keyId: `k-${agentId}` })

/** Sends everything, the way the relay does, and returns what the hub would receive. */
function deliverAll(outbox: ReturnType<typeof createOutbox>['outbox'], batch = 3): RelayOp[] {
  const sent: RelayOp[] = []
  for (let run = outbox.next(batch); run; run = outbox.next(batch)) {
    sent.push(...run.ops)
    outbox.ack(run.lastSeq)
  }
  return sent
}

describe('mid-tier outbox', () => {
  it('keeps the order of what agents did and groups samples into batches', () => {
    const { outbox } = createOutbox({ maxSamples: 100 })
    outbox.push(register('a'))
    outbox.push(metricsOp('a', 1))
    outbox.push(metricsOp('a', 2))
    outbox.push({ kind: 'gone', agentId: 'a' })
    const first = outbox.next(10)!
    expect(first.kind).toBe('register')
    outbox.ack(first.lastSeq)
    const batch = outbox.next(10)!
    expect(batch.ops.map((o) => (o.kind === 'metrics' ? o.sample.uptimeSeconds : -1))).toEqual([1, 2])
    outbox.ack(batch.lastSeq)
    expect(outbox.next(10)!.kind).toBe('gone')
  })

  it('never holds more samples than its bound, dropping the oldest and never a registration', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 20 }), fc.array(fc.constantFrom('m', 'r', 'g'), { maxLength: 200 }), (max, script) => {
        let dropped = 0
        const { outbox } = createOutbox({ maxSamples: max, onDrop: (n) => (dropped += n) })
        let seq = 0
        const pushed: RelayOp[] = []
        for (const step of script) {
          const op = step === 'm' ? metricsOp('a', seq++) : step === 'r' ? register('a') : ({ kind: 'gone', agentId: 'a' } as RelayOp)
          outbox.push(op)
          pushed.push(op)
          expect(outbox.samples).toBeLessThanOrEqual(max)
        }
        const sent = deliverAll(outbox)
        const samplesPushed = pushed.filter((o) => o.kind === 'metrics').length
        expect(dropped).toBe(Math.max(0, samplesPushed - max))
        // Everything else arrives, in order; the samples that arrive are the newest ones.
        expect(sent.filter((o) => o.kind !== 'metrics')).toEqual(pushed.filter((o) => o.kind !== 'metrics'))
        const kept = sent.filter((o) => o.kind === 'metrics').map((o) => (o.kind === 'metrics' ? o.sample.uptimeSeconds : -1))
        expect(kept).toEqual(Array.from({ length: Math.min(samplesPushed, max) }, (_, i) => samplesPushed - Math.min(samplesPushed, max) + i))
      }),
      { numRuns: 200 },
    )
  })

  it('resumes after a crash with exactly the samples not acknowledged, and the agents they belong to', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 40 }), fc.integer({ min: 0, max: 40 }), fc.boolean(), (before, acked, tornLine) => {
        const path = join(tempHome('thresh-journal-'), 'outbox.jsonl')
        const journal = openJournal(path)
        const { outbox } = createOutbox({ maxSamples: 1000, journal })
        outbox.push(register('a'))
        for (let i = 0; i < before; i++) outbox.push(metricsOp('a', i))
        // The hub acknowledged the registration and some samples.
        let delivered = 0
        for (let run = outbox.next(1); run && delivered <= acked; run = outbox.next(1)) {
          outbox.ack(run.lastSeq)
          delivered++
        }
        journal.close()
        if (tornLine) appendFileSync(path, '{"s":99999,"op":{"kind":"metr')

        const again = openJournal(path)
        const resumed = createOutbox({ maxSamples: 1000, journal: again })
        // The registration itself is not replayed (the agent registers again when it reconnects); an
        // agent still owed samples is known with its info and key, so the relay registers it first.
        const samplesDelivered = Math.max(0, Math.min(delivered, before + 1) - 1)
        const left = before - samplesDelivered
        expect(resumed.outbox.size).toBe(left)
        expect(resumed.replayedAgents).toEqual(left > 0 ? ['a'] : [])
        if (left > 0) expect(resumed.outbox.pendingAgents().get('a')).toMatchObject({ info: { agentId: 'a', hostname: agentInfo('a').hostname }, keyId: 'k-a' })
        const sent = deliverAll(resumed.outbox)
        expect(sent.map((o) => (o.kind === 'metrics' ? o.sample.uptimeSeconds : -1))).toEqual(Array.from({ length: left }, (_, i) => before - left + i))
        // Once everything is delivered the file is empty again.
        expect(readFileSync(path, 'utf8')).toBe('')
        again.close()
      }),
      { numRuns: 60 },
    )
  })
})
