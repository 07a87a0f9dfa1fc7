// `thresh container logs|exec` (joined to `thresh container` in container.ts) and the stack forms (`thresh stack logs|exec`): logs as `docker
// compose logs` prints them (interleaved by time, prefixed by service), and exec with a raw-mode TTY
// when stdin is a terminal, plain pipes otherwise, the command's exit code passed through.
import process from 'node:process'
import { defineCommand } from 'citty'
import { ThreshError } from '../../core/index.ts'
import { createHubClient, hubArgs, seg, type HubClient } from '../hub-client.ts'
import { readNdjson } from '../stream-client.ts'

const logFlags = {
  follow: { type: 'boolean', alias: 'f', description: 'keep printing new lines as they are written' },
  since: { type: 'string', description: 'only lines since: a duration back from now (10m, 2h), an RFC 3339 time or Unix seconds' },
  until: { type: 'string', description: 'only lines before (same forms as --since)' },
  tail: { type: 'string', description: 'only the last N lines of each container (or all)' },
  timestamps: { type: 'boolean', alias: 't', description: "show Docker's time of each line" },
} as const

const COLOURS = [36, 33, 32, 35, 34, 96, 93, 92, 95, 94]

interface LogFlags {
  follow?: boolean
  since?: string
  until?: string
  tail?: string
  timestamps?: boolean
}

/** Prints a hub log stream until it ends (or forever with --follow); Ctrl-C closes it, which stops the node reading. */
async function printLogs(client: HubClient, path: string, flags: LogFlags, extra: Record<string, string | undefined>, prefixed: string[] | undefined): Promise<void> {
  const width = Math.max(0, ...(prefixed ?? []).map((s) => s.length))
  const colour = process.stdout.isTTY === true && !process.env.NO_COLOR
  const prefix = (service: unknown) => {
    if (!prefixed || typeof service !== 'string') return ''
    const text = `${service.padEnd(width)}  | `
    return colour ? `\u001b[${COLOURS[Math.max(0, prefixed.indexOf(service)) % COLOURS.length]}m${text}\u001b[0m` : text
  }
  const controller = new AbortController()
  const stop = () => controller.abort()
  process.once('SIGINT', stop)
  process.once('SIGTERM', stop)
  let failure: string | undefined
  try {
    await readNdjson(
      client.target,
      path,
      { follow: flags.follow ? 'true' : undefined, since: flags.since, until: flags.until, tail: flags.tail, ...extra },
      (record) => {
        if (typeof record.line === 'string') {
          const time = flags.timestamps && typeof record.time === 'string' ? `${record.time} ` : ''
          const text = `${prefix(record.service)}${time}${record.line}\n`
          // One container: stderr stays stderr, as docker logs keeps it; a stack prints all to stdout, as compose does.
          if (!prefixed && record.stream === 'stderr') process.stderr.write(text)
          else process.stdout.write(text)
        } else if (typeof record.dropped === 'number') {
          process.stderr.write(`${prefix(record.service)}… ${record.dropped} lines dropped: they came faster than this terminal read them\n`)
        } else if (record.end === true && typeof record.error === 'string') {
          if (record.service === undefined) failure = record.error
          else process.stderr.write(`${prefix(record.service)}(the log stream ended: ${record.error})\n`)
        }
      },
      controller.signal,
    )
  } finally {
    process.off('SIGINT', stop)
    process.off('SIGTERM', stop)
  }
  if (failure) throw new ThreshError({ code: 'stream_failed', message: `The log stream ended early: ${failure}` })
}

/** Runs an exec session to its end and exits with the command's exit code. */
async function runExec(client: HubClient, openPath: string, command: string[]): Promise<void> {
  const stdin = process.stdin
  const tty = stdin.isTTY === true && process.stdout.isTTY === true
  const size = () => ({ cols: process.stdout.columns || 80, rows: process.stdout.rows || 24 })
  const { id } = await client.post<{ id: string }>(openPath, { command, tty, ...(tty ? size() : {}) })
  const path = `/api/exec/${seg(id)}`
  // Input goes in order, one request at a time, what arrived meanwhile joined into the next.
  let queued: Buffer[] = []
  let eof = false
  let sending: Promise<void> | undefined
  const flushInput = (): Promise<void> =>
    (sending ??= (async () => {
      while (queued.length > 0 || eof) {
        const data = Buffer.concat(queued)
        queued = []
        const end = eof && queued.length === 0
        if (end) eof = false
        await client.post(`${path}/input`, { ...(data.length > 0 ? { data: data.toString('base64') } : {}), ...(end ? { eof: true } : {}) }).catch(() => {})
        if (end) break
      }
    })().finally(() => (sending = undefined)))
  const onData = (chunk: Buffer) => {
    queued.push(chunk)
    void flushInput()
  }
  const onEnd = () => {
    eof = true
    void flushInput()
  }
  const onResize = () => void client.post(`${path}/input`, { resize: size() }).catch(() => {})
  const controller = new AbortController()
  const interrupt = () => {
    controller.abort()
    void client.delete(path).catch(() => {})
  }
  if (tty) {
    stdin.setRawMode(true)
    process.stdout.on('resize', onResize)
  } else process.once('SIGINT', interrupt)
  stdin.on('data', onData)
  stdin.on('end', onEnd)
  stdin.resume()
  let exitCode: number | undefined
  let failure: string | undefined
  try {
    await readNdjson(
      client.target,
      path,
      {},
      (record) => {
        if (typeof record.data === 'string') (record.stream === 'stderr' ? process.stderr : process.stdout).write(record.data)
        else if (typeof record.exit === 'number') exitCode = record.exit
        else if (typeof record.dropped === 'number') process.stderr.write(`\r\n[${record.dropped} pieces of output dropped: they came faster than this terminal read them]\r\n`)
        else if (record.end === true && typeof record.error === 'string') failure = record.error
      },
      controller.signal,
    )
  } finally {
    if (tty) {
      stdin.setRawMode(false)
      process.stdout.off('resize', onResize)
    } else process.off('SIGINT', interrupt)
    stdin.off('data', onData)
    stdin.off('end', onEnd)
    stdin.pause()
    stdin.unref?.()
  }
  if (controller.signal.aborted) {
    process.exitCode = 130
    return
  }
  if (failure) throw new ThreshError({ code: 'exec_failed', message: `The exec session ended: ${failure}` })
  process.exitCode = exitCode ?? 1
}

/** The command after `--` (citty keeps it in `_`), minus the positionals. */
function commandAfter(args: { _: string[] }, positionals: number): string[] {
  const raw = process.argv.slice(2)
  const dashes = raw.indexOf('--')
  return dashes >= 0 ? raw.slice(dashes + 1) : args._.slice(positionals)
}

export const containerLogs = defineCommand({
  meta: { name: 'logs', description: "Print a container's logs (any container on the node)" },
  args: {
    node: { type: 'positional', description: 'node name or id', required: true },
    container: { type: 'positional', description: 'container name or id', required: true },
    ...logFlags,
    ...hubArgs,
  },
  async run({ args }) {
    const client = createHubClient(args)
    await printLogs(client, `/api/nodes/${seg(args.node)}/containers/${seg(args.container)}/logs`, args, {}, undefined)
  },
})

export const containerExec = defineCommand({
  meta: { name: 'exec', description: 'Run a command (default a shell) in a container: thresh container exec NODE CONTAINER [-- cmd…]' },
  args: {
    node: { type: 'positional', description: 'node name or id', required: true },
    container: { type: 'positional', description: 'container name or id', required: true },
    ...hubArgs,
  },
  async run({ args }) {
    const client = createHubClient(args)
    await runExec(client, `/api/nodes/${seg(args.node)}/containers/${seg(args.container)}/exec`, commandAfter(args, 2))
  },
})

export const stackLogs = defineCommand({
  meta: { name: 'logs', description: "Print a stack's logs, services interleaved by time: thresh stack logs NAME [SERVICE…]" },
  args: {
    name: { type: 'positional', description: 'stack name', required: true },
    ...logFlags,
    ...hubArgs,
  },
  async run({ args }) {
    const client = createHubClient(args)
    const services = args._.slice(1)
    const stack = await client.get<{ services?: Array<{ name: string }> }>(`/api/stacks/${seg(args.name)}`)
    const names = services.length > 0 ? services : (stack.services ?? []).map((s) => s.name)
    await printLogs(client, `/api/stacks/${seg(args.name)}/logs`, args, { service: services.length > 0 ? services.join(',') : undefined }, names)
  },
})

export const stackExec = defineCommand({
  meta: { name: 'exec', description: "Run a command (default a shell) in a stack service's container: thresh stack exec NAME SERVICE [-- cmd…]" },
  args: {
    name: { type: 'positional', description: 'stack name', required: true },
    service: { type: 'positional', description: 'service name', required: true },
    ...hubArgs,
  },
  async run({ args }) {
    const client = createHubClient(args)
    await runExec(client, `/api/stacks/${seg(args.name)}/services/${seg(args.service)}/exec`, commandAfter(args, 2))
  },
})
