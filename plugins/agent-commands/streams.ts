// The streams an agent serves from its Docker engine: a container's logs (Docker's multiplexed log
// stream, stdout and stderr kept apart, each line with Docker's own timestamp) and exec sessions
// (a TTY or plain pipes, input, resize, the exit code).
import type Docker from 'dockerode'
import { LABELS } from '../../lib/stack/index.ts'
import { createFrameReader, createLineSplitter } from '../../lib/docker/log-frames.ts'
import type { ExecArguments, LogsArguments, StreamChunk, StreamHandler, StreamOpen, StreamWork } from '../../lib/streams/index.ts'

export interface StreamServiceOptions {
  docker: () => Docker
  /** The account the node's stacks are labelled with. */
  account: string | undefined
  allowExec: () => boolean
  /** Told when a stream starts and ends (the agent's gauge of open streams). */
  onActive?(delta: number): void
}

const TIME = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?Z) /

/** The container a stream names: by id or name, or a thresh stack's service on this node. */
async function findContainer(docker: Docker, args: Record<string, unknown>, account: string | undefined): Promise<Docker.Container> {
  if (typeof args.container === 'string' && args.container) return docker.getContainer(args.container)
  if (typeof args.stack === 'string' && typeof args.service === 'string') {
    const labels = [`${LABELS.stack}=${args.stack}`, `${LABELS.service}=${args.service}`]
    if (account) labels.push(`${LABELS.account}=${account}`)
    const found = await docker.listContainers({ all: true, filters: { label: labels } })
    if (found.length === 0) throw new Error(`Service ${args.service} of stack ${args.stack} has no container on this node.`)
    return docker.getContainer(found[0]!.Id)
  }
  throw new Error('A stream needs a container, or a stack and a service.')
}

async function inspect(container: Docker.Container, name: string): Promise<Docker.ContainerInspectInfo> {
  try {
    return await container.inspect()
  } catch (error) {
    if ((error as { statusCode?: number }).statusCode === 404) throw new Error(`No container ${name} on this node.`)
    throw error
  }
}

function dockerTime(value: unknown): number | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) return value
  if (typeof value === 'string' && value) {
    const ms = Date.parse(value)
    if (Number.isFinite(ms)) return ms / 1000
  }
  return undefined
}

async function serveLogs(docker: Docker, open: StreamOpen, work: StreamWork, account: string | undefined): Promise<void> {
  const args = open.arguments as LogsArguments & Record<string, unknown>
  const container = await findContainer(docker, args, account)
  const info = await inspect(container, String(args.container ?? `${args.stack}/${args.service}`))
  const since = dockerTime(args.since)
  const until = dockerTime(args.until)
  const options = {
    stdout: args.stdout !== false,
    stderr: args.stderr !== false,
    timestamps: true,
    ...(since !== undefined ? { since } : {}),
    ...(until !== undefined ? { until } : {}),
    ...(typeof args.tail === 'number' && args.tail >= 0 ? { tail: Math.floor(args.tail) } : {}),
  }
  let batch: StreamChunk[] = []
  const lines = createLineSplitter((stream, line) => {
    const match = TIME.exec(line)
    batch.push(match ? { s: stream, d: line.slice(match[0].length), t: match[1]! } : { s: stream, d: line })
  })
  const frames = createFrameReader(info.Config?.Tty === true, (stream, text) => lines.push(stream, text))
  const flush = () => {
    if (batch.length === 0) return
    work.push(batch)
    batch = []
  }
  if (args.follow !== true) {
    // The whole log comes at once; it goes on in slices as fast as the viewer takes them, none lost.
    const body = (await container.logs({ ...options, follow: false })) as unknown as Buffer
    const SLICE = 16 * 1024
    for (let offset = 0; offset < body.length && !work.signal.aborted; offset += SLICE) {
      frames.push(body.subarray(offset, offset + SLICE))
      flush()
      await work.room()
    }
    frames.flush()
    lines.flush()
    flush()
    return
  }
  const stream = (await container.logs({ ...options, follow: true })) as unknown as NodeJS.ReadableStream & { destroy(): void }
  await new Promise<void>((resolve, reject) => {
    const stop = () => {
      stream.destroy()
      resolve()
    }
    if (work.signal.aborted) return stop()
    work.signal.addEventListener('abort', stop, { once: true })
    stream.on('data', (bytes: Buffer) => {
      frames.push(bytes)
      flush()
    })
    stream.on('end', () => {
      frames.flush()
      lines.flush()
      flush()
      resolve()
    })
    stream.on('error', (error: Error) => (work.signal.aborted ? resolve() : reject(error)))
  })
}

async function serveExec(docker: Docker, open: StreamOpen, work: StreamWork, account: string | undefined): Promise<void> {
  const args = open.arguments as ExecArguments & Record<string, unknown>
  const container = await findContainer(docker, args, account)
  const info = await inspect(container, String(args.container ?? `${args.stack}/${args.service}`))
  if (info.State?.Running !== true) throw new Error(`Container ${info.Name.replace(/^\//, '')} is not running.`)
  const command = Array.isArray(args.command) && args.command.length > 0 ? args.command.map(String) : ['/bin/sh']
  const tty = args.tty === true
  const exec = await container.exec({ Cmd: command, AttachStdin: true, AttachStdout: true, AttachStderr: true, Tty: tty })
  const size = tty && typeof args.cols === 'number' && typeof args.rows === 'number' ? { cols: args.cols, rows: args.rows } : undefined
  // ConsoleSize sizes the TTY before the command runs (Docker API 1.42+); older engines ignore it and
  // take the resize right after the start, as `docker exec -it` does on them.
  const stream = (await exec.start({ hijack: true, stdin: true, Tty: tty, ...(size ? { ConsoleSize: [size.rows, size.cols] } : {}) })) as unknown as NodeJS.ReadWriteStream & {
    destroy(): void
  }
  const resize = (cols: number, rows: number) => exec.resize({ w: cols, h: rows }).catch(() => {})
  if (size) await resize(size.cols, size.rows)
  const frames = createFrameReader(tty, (name, text) => work.push([{ s: name, d: text }]))
  work.onControl((control) => {
    if (control.op === 'input') stream.write(control.data)
    else if (control.op === 'eof') stream.end()
    else if (control.op === 'resize' && tty) void resize(control.cols, control.rows)
  })
  await new Promise<void>((resolve, reject) => {
    const stop = () => {
      stream.destroy()
      resolve()
    }
    if (work.signal.aborted) return stop()
    work.signal.addEventListener('abort', stop, { once: true })
    stream.on('data', (bytes: Buffer) => frames.push(bytes))
    stream.on('end', () => resolve())
    stream.on('close', () => resolve())
    stream.on('error', (error: Error) => (work.signal.aborted ? resolve() : reject(error)))
  })
  frames.flush()
  if (work.signal.aborted) return
  // The process may need a moment after its output closed before Docker has its exit code.
  for (let i = 0; i < 50; i++) {
    const state = await exec.inspect()
    if (!state.Running) {
      work.push([{ s: 'exit', code: state.ExitCode ?? -1 }])
      return
    }
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

export function createStreamService(options: StreamServiceOptions): StreamHandler {
  return async (open, work) => {
    options.onActive?.(1)
    try {
      if (open.kind === 'logs') return await serveLogs(options.docker(), open, work, options.account)
      if (open.kind === 'exec') {
        if (!options.allowExec()) throw new Error('This agent does not allow exec (thresh agent config set allow-exec true to allow it).')
        return await serveExec(options.docker(), open, work, options.account)
      }
      throw new Error(`This agent does not serve '${open.kind}' streams.`)
    } finally {
      options.onActive?.(-1)
    }
  }
}
