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

  it('hands out several batches before the first is acknowledged, takes acks in order, and hands the unacknowledged out again after a failure', () => {
    const { outbox } = createOutbox({ maxSamples: 100 })
    outbox.push(register('p-1'))
    for (let i = 0; i < 9; i++) outbox.push(metricsOp('p-1', i))
    const reg = outbox.next(3)!
    expect(reg.kind).toBe('register')
    const b1 = outbox.next(3)!
    const b2 = outbox.next(3)!
    expect(outbox.peek()).toBe('metrics')
    // Behind batches in flight, a short batch waits until it is full (or a flush sends it).
    outbox.push(metricsOp('p-1', 9))
    const b3 = outbox.next(3)!
    expect(outbox.next(3, true)).toBeUndefined()
    expect([b1, b2, b3].map((r) => r.ops.map((op) => (op as { sample: { uptimeSeconds: number } }).sample.uptimeSeconds))).toEqual([[0, 1, 2], [3, 4, 5], [6, 7, 8]])
    outbox.ack(reg.lastSeq)
    outbox.ack(b1.lastSeq)
    expect(outbox.samples).toBe(7)
    // b2 failed: b2 and b3 are handed out again, b3 once more after b2.
    outbox.rewind()
    expect(outbox.next(3)!.lastSeq).toBe(b2.lastSeq)
    expect(outbox.next(3)!.lastSeq).toBe(b3.lastSeq)
    expect(outbox.next(3)!.ops).toHaveLength(1)
  })

  it('never drops a sample that is on its way to the hub when the bound is reached with batches in flight', () => {
    const dropped: number[] = []
    const { outbox } = createOutbox({ maxSamples: 6, onDrop: (n) => dropped.push(n) })
    for (let i = 0; i < 6; i++) outbox.push(metricsOp('d-1', i))
    const b1 = outbox.next(2)!
    const b2 = outbox.next(2)!
    outbox.push(metricsOp('d-1', 6))
    outbox.push(metricsOp('d-1', 7))
    expect(dropped).toEqual([1, 1])
    outbox.ack(b1.lastSeq)
    outbox.ack(b2.lastSeq)
    const rest = deliverAll(outbox, 10).map((op) => (op as { sample: { uptimeSeconds: number } }).sample.uptimeSeconds)
    expect(rest).toEqual([6, 7])
  })

  it('writes every report of one event-loop turn in one write, and says it is durable only once written', async () => {
    const path = join(tempHome('thresh-journal-'), 'outbox.jsonl')
    const journal = openJournal(path)
    const { outbox } = createOutbox({ maxSamples: 100, journal })
    expect(outbox.durable()).toBeUndefined()
    for (let i = 0; i < 50; i++) outbox.push(metricsOp(`t-${i % 5}`, i))
    const durable = outbox.durable()!
    expect(outbox.durable()).toBe(durable)
    // Not on disk yet: an agent answered now could lose its sample to a crash.
    expect(readFileSync(path, 'utf8')).toBe('')
    await durable
    const lines = readFileSync(path, 'utf8').trim().split('\n')
    expect(lines.filter((l) => l.startsWith('{"s":'))).toHaveLength(50)
    // A crash now (no close): a new outbox on the same file resumes with all 50.
    const again = createOutbox({ maxSamples: 100, journal: openJournal(path) })
    expect(again.outbox.samples).toBe(50)
    journal.close()
  })
})

