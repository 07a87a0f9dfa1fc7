// Property tests of the record reader and message parser: any split of a stream of records yields
// the same records, and arbitrary input only ever fails with the protocol's own errors.
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { createRecordReader, HubProtocolError, MessageTooLargeError, parseHandshake, parseHubMessage, RECORD_SEPARATOR, utf8Length } from '../../lib/signalr/index.ts'

const recordText = fc.string({ unit: 'grapheme', maxLength: 40 }).map((s) => s.replaceAll(RECORD_SEPARATOR, ''))

describe('frame parser', () => {
  it('yields the same records however the stream is split into frames', () => {
    fc.assert(
      fc.property(fc.array(recordText, { maxLength: 20 }), fc.array(fc.nat(), { maxLength: 30 }), (records, cuts) => {
        const stream = records.map((r) => r + RECORD_SEPARATOR).join('')
        const points = [...new Set(cuts.map((c) => (stream.length === 0 ? 0 : c % (stream.length + 1))))].sort((a, b) => a - b)
        const reader = createRecordReader()
        const out: string[] = []
        let last = 0
        for (const point of [...points, stream.length]) {
          out.push(...reader.push(stream.slice(last, point)))
          last = point
        }
        expect(out).toEqual(records)
        expect(reader.pending).toBe(0)
      }),
      { numRuns: 500 },
    )
  })

  it('rejects exactly the records longer than the limit, measured in UTF-8 bytes', () => {
    fc.assert(
      fc.property(recordText, fc.integer({ min: 1, max: 60 }), (record, limit) => {
        const reader = createRecordReader(limit)
        const tooBig = utf8Length(record) > limit
        if (tooBig) expect(() => reader.push(record + RECORD_SEPARATOR)).toThrow(MessageTooLargeError)
        else expect(reader.push(record + RECORD_SEPARATOR)).toEqual([record])
      }),
      { numRuns: 500 },
    )
    expect(utf8Length('a€😀')).toBe(new TextEncoder().encode('a€😀').length)
  })

  it('fails on arbitrary input only with protocol errors, never with a crash', () => {
    const jsonish = fc.oneof(
      fc.string(),
      fc.json(),
      fc.record({ type: fc.integer({ min: -1, max: 12 }), invocationId: fc.anything(), target: fc.anything(), arguments: fc.anything(), item: fc.anything(), result: fc.anything(), error: fc.anything(), sequenceId: fc.anything() }, { requiredKeys: ['type'] }).map((v) => JSON.stringify(v)),
    )
    fc.assert(
      fc.property(jsonish, (text) => {
        try {
          const message = parseHubMessage(text)
          expect(typeof message.type).toBe('number')
        } catch (error) {
          expect(error).toBeInstanceOf(HubProtocolError)
        }
        const handshake = parseHandshake(text)
        expect('error' in handshake || handshake.protocol === 'json').toBe(true)
      }),
      { numRuns: 1000 },
    )
  })
})
