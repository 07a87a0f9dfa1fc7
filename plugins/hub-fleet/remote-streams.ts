// Logs and exec sessions for a node another hub process holds. The hub asked opens the stream on the
// holding hub through PostgreSQL (a message on the holder's channel); the holder opens it on the agent
// as it would its own, and passes the output back batch by batch, waiting for each to be sent before
// the next (so batches arrive in order, and a slow database slows the holder's reading, whose buffer is
// bounded like every hop's). Input, resizes and cancel travel the other way. On the asking hub the
// stream sits in a stream table like any other hop: a bounded buffer, ended with a reason when the
// holding hub stops. The holder cancels the streams of an asking hub that stopped.
import type { NodeRecord } from '../../lib/storage/types.ts'
import { checkControl, createStreamTable, isStreamId, splitBatch, type StreamControl, type StreamOpen, type StreamReader } from '../../lib/streams/index.ts'

/** One message carries at most this much output (the store splits it over several NOTIFYs). */
const MESSAGE_BYTES = 64 * 1024

type StreamMessage =
  | { k: 'stream-open'; from: string; id: string; accountId: string; nodeId: string; open: StreamOpen }
  | { k: 'stream-ack'; from: string; id: string }
  | { k: 'stream-data'; from: string; id: string; chunks: unknown }
  | { k: 'stream-end'; from: string; id: string; error?: string }
  | { k: 'stream-control'; from: string; id: string; control: StreamControl }

export interface RemoteStreams {
  /** On the hub asked: a stream on a node hub `holder` holds. */
  open(holder: string, node: NodeRecord, open: StreamOpen): StreamReader
  /** A message another hub sent this one; true when it was about a stream. */
  receive(message: string): boolean
  /** Hubs that stopped: the streams they held end with the reason, the streams they asked for stop. */
  hubsStopped(hubs: string[]): void
  close(): void
}

export function createRemoteStreams(deps: {
  hubId: string
  /** Sends hub `to` a message of any length. */
  post(to: string, message: string): Promise<void>
  /** Opens a stream on a node this hub holds; undefined when it holds no connection to it. */
  openHere(accountId: string, nodeId: string, open: StreamOpen): StreamReader | undefined
  /** A hub's name for messages. */
  label(hubId: string): string
  logger: { warn(message: string): void }
  /** How long the holder may take to confirm a stream before it ends with an error (default 10 s). */
  ackTimeoutMs?: number
}): RemoteStreams {
  const { hubId } = deps
  const ackTimeoutMs = deps.ackTimeoutMs ?? 10_000
  // Streams asked here and served elsewhere: output lands in this table, fed by the holder's messages.
  const incoming = createStreamTable()
  const unconfirmed = new Map<string, ReturnType<typeof setTimeout>>()
  // Streams served here for another hub: the reader on the agent, and who asked.
  const served = new Map<string, { reader: StreamReader; asker: string }>()

  const post = (to: string, message: StreamMessage) => deps.post(to, JSON.stringify(message))
  const confirmed = (id: string) => {
    clearTimeout(unconfirmed.get(id))
    unconfirmed.delete(id)
  }

  /** On the holder: reads the agent's stream and passes each batch on, in order, until it ends. */
  async function serve(message: Extract<StreamMessage, { k: 'stream-open' }>) {
    const { from: asker, id } = message
    let reader: StreamReader | undefined
    try {
      reader = deps.openHere(message.accountId, message.nodeId, { ...message.open, streamId: id })
    } catch (error) {
      await post(asker, { k: 'stream-end', from: hubId, id, error: (error as Error).message })
      return
    }
    if (!reader) {
      await post(asker, { k: 'stream-end', from: hubId, id, error: `The node is no longer connected to hub ${deps.label(hubId)}; try again once its agent is back.` })
      return
    }
    served.set(id, { reader, asker })
    try {
      await post(asker, { k: 'stream-ack', from: hubId, id })
      for (;;) {
        const batch = await reader.next()
        if (batch.done) {
          await post(asker, { k: 'stream-end', from: hubId, id, ...(batch.error !== undefined ? { error: batch.error } : {}) })
          return
        }
        for (const chunks of splitBatch(batch.chunks, MESSAGE_BYTES)) await post(asker, { k: 'stream-data', from: hubId, id, chunks })
      }
    } catch (error) {
      reader.cancel()
      deps.logger.warn(`Passing stream ${id} to hub ${deps.label(asker)} failed: ${(error as Error).message}`)
    } finally {
      served.delete(id)
    }
  }

  function parse(text: string): StreamMessage | undefined {
    if (!text.startsWith('{"k":"stream-')) return undefined
    try {
      const message = JSON.parse(text) as StreamMessage
      return typeof message.from === 'string' && isStreamId(message.id) ? message : undefined
    } catch {
      return undefined
    }
  }

  return {
    open(holder, node, open) {
      const id = open.streamId
      // One message at a time per stream: each is committed before the next is sent, so the holder
      // hears the open before the input that follows it, and the input in order.
      let sending: Promise<unknown> = Promise.resolve()
      const send = (message: StreamMessage) => (sending = sending.then(() => post(holder, message)))
      const reader = incoming.open(id, {
        owner: holder,
        send(control) {
          // Credits are this hop's own flow control; the holder paces itself by its sends.
          if (control.op === 'credit') return
          send({ k: 'stream-control', from: hubId, id, control }).catch((error) => deps.logger.warn(`Sending ${control.op} for stream ${id} to hub ${deps.label(holder)} failed: ${(error as Error).message}`))
        },
      })
      const timer = setTimeout(() => {
        unconfirmed.delete(id)
        incoming.end(holder, id, `Hub ${deps.label(holder)}, which holds node ${node.hostname}, did not answer within ${Math.round(ackTimeoutMs / 1000)} s.`)
      }, ackTimeoutMs)
      ;(timer as { unref?: () => void }).unref?.()
      unconfirmed.set(id, timer)
      send({ k: 'stream-open', from: hubId, id, accountId: node.accountId, nodeId: node.id, open }).catch((error) => {
        confirmed(id)
        incoming.end(holder, id, `Could not reach hub ${deps.label(holder)}, which holds node ${node.hostname}: ${(error as Error).message}`)
      })
      return reader
    },

    receive(text) {
      const message = parse(text)
      if (!message) return false
      switch (message.k) {
        case 'stream-open':
          if (!served.has(message.id) && message.open && typeof message.accountId === 'string' && typeof message.nodeId === 'string') {
            serve(message).catch((error) => deps.logger.warn(`Serving stream ${message.id} for hub ${deps.label(message.from)} failed: ${(error as Error).message}`))
          }
          break
        case 'stream-ack':
        case 'stream-data':
          confirmed(message.id)
          // A stream that ended here (its viewer left, or it timed out waiting): the holder stops it too.
          if (!incoming.feed(message.from, message.id, message.k === 'stream-data' ? message.chunks : [])) {
            void post(message.from, { k: 'stream-control', from: hubId, id: message.id, control: { streamId: message.id, op: 'cancel' } }).catch(() => {})
          }
          break
        case 'stream-end':
          confirmed(message.id)
          incoming.end(message.from, message.id, typeof message.error === 'string' ? message.error : undefined)
          break
        case 'stream-control': {
          const entry = served.get(message.id)
          const control = checkControl(message.control)
          if (!entry || entry.asker !== message.from || !control || control.streamId !== message.id) break
          if (control.op === 'cancel') entry.reader.cancel()
          else if (control.op !== 'credit') entry.reader.control(control)
          break
        }
      }
      return true
    },

    hubsStopped(hubs) {
      for (const hub of hubs) {
        incoming.endOwner(hub, `Hub ${deps.label(hub)}, which held the node, stopped; open the stream again once the node is back online.`)
        for (const entry of served.values()) if (entry.asker === hub) entry.reader.cancel()
      }
    },

    close() {
      for (const timer of unconfirmed.values()) clearTimeout(timer)
      unconfirmed.clear()
      incoming.close('The hub is stopping.')
      for (const entry of served.values()) entry.reader.cancel()
    },
  }
}
