// The short and long forms of Compose's ports, volumes and healthchecks, turned into thresh's text forms
// (`"127.0.0.1:8080:80/udp"`, `"data:/var/lib/db:ro"`). Each returns the thresh values, or a problem.
import { clip } from '../json-guard.ts'

type Raw = Record<string, unknown>
const isObject = (value: unknown): value is Raw => typeof value === 'object' && value !== null && !Array.isArray(value)

/** Ports of a range `8000-8002` (or one port), or undefined. */
function portRange(text: string): number[] | undefined {
  const match = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(text)
  if (!match) return undefined
  const from = Number(match[1])
  const to = match[2] === undefined ? from : Number(match[2])
  if (from < 1 || to > 65535 || to < from || to - from > 1000) return undefined
  return Array.from({ length: to - from + 1 }, (_, i) => from + i)
}

export interface PortConversion {
  /** thresh port texts: one per published port (ranges expanded). */
  ports: string[]
  /** A container port with no host port: Compose publishes it on a random one; thresh exposes it. */
  exposed: string[]
}

/** One `ports:` entry in either syntax. */
export function convertPort(value: unknown): PortConversion | string {
  if (isObject(value)) {
    const target = value.target
    if (typeof target !== 'number' && typeof target !== 'string') return 'The long syntax needs a target (the container port)'
    const protocol = value.protocol ?? 'tcp'
    if (protocol !== 'tcp' && protocol !== 'udp') return `Unknown protocol "${clip(String(protocol))}"; use tcp or udp`
    if (value.mode !== undefined && value.mode !== 'host' && value.mode !== 'ingress') return `Unknown mode "${clip(String(value.mode))}"`
    const hostIp = value.host_ip === undefined ? '' : String(value.host_ip)
    const published = value.published === undefined ? '' : String(value.published)
    return shortPort(`${hostIp ? (hostIp.includes(':') ? `[${hostIp}]:` : `${hostIp}:`) : ''}${published ? `${published}:` : ''}${target}/${protocol}`)
  }
  if (typeof value !== 'string' && typeof value !== 'number') return 'Expected "host:container", a container port, or {target, published, host_ip, protocol}'
  return shortPort(String(value))
}

function shortPort(raw: string): PortConversion | string {
  let text = raw.trim()
  let protocol = 'tcp'
  const slash = text.lastIndexOf('/')
  if (slash >= 0) {
    protocol = text.slice(slash + 1)
    if (protocol !== 'tcp' && protocol !== 'udp') return `Unknown protocol "${clip(protocol)}"; use tcp or udp`
    text = text.slice(0, slash)
  }
  let hostIp = ''
  if (text.startsWith('[')) {
    const close = text.indexOf(']:')
    if (close < 0) return `"${clip(raw)}" is not a port mapping`
    hostIp = `[${text.slice(1, close)}]`
    text = text.slice(close + 2)
  }
  const parts = text.split(':')
  if (parts.length === 3 && !hostIp) hostIp = parts.shift()!
  if (parts.length > 2) return `"${clip(raw)}" is not a port mapping`
  const suffix = protocol === 'udp' ? '/udp' : ''
  const container = portRange(parts[parts.length - 1]!)
  if (!container) return `"${clip(raw)}" has no valid container port (1 to 65535, or a range like 8000-8010)`
  const hostText = parts.length === 2 ? parts[0]! : ''
  if (hostText === '') {
    if (hostIp) return `"${clip(raw)}" binds an address without a host port: write "${hostIp}:PORT:${parts[parts.length - 1]}"`
    return { ports: [], exposed: container.map((c) => `${c}/${protocol}`) }
  }
  const host = portRange(hostText)
  if (!host) return `"${clip(raw)}" has no valid host port (1 to 65535, or a range like 8000-8010)`
  if (host.length !== container.length) {
    return `"${clip(raw)}" maps ${host.length} host ports to ${container.length} container ports; thresh publishes ranges of the same length only`
  }
  const prefix = hostIp ? `${hostIp}:` : ''
  return { ports: host.map((h, i) => `${prefix}${h}:${container[i]}${suffix}`), exposed: [] }
}

/** `expose:` entries: `"80"`, `"53/udp"`, `"8000-8002"`. */
export function convertExpose(value: unknown): string[] | string {
  const match = /^(\d{1,5}(?:-\d{1,5})?)(?:\/(tcp|udp))?$/.exec(String(value).trim())
  const range = match ? portRange(match[1]!) : undefined
  if (!match || !range || (typeof value !== 'string' && typeof value !== 'number')) return `"${clip(String(value))}" is not a container port like "80" or "53/udp"`
  return range.map((p) => `${p}/${match[2] ?? 'tcp'}`)
}

/** Normalises `a/./b/../c` and joins a relative path onto `base` (POSIX, no file system). */
export function resolvePath(base: string, relative: string): string {
  const parts: string[] = []
  for (const part of `${relative.startsWith('/') ? '' : base}/${relative}`.split('/')) {
    if (part === '' || part === '.') continue
    if (part === '..') parts.pop()
    else parts.push(part)
  }
  return `/${parts.join('/')}`
}

export interface VolumeContext {
  /** Directory of the compose file on this machine; undefined when it is deployed remotely (no paths to resolve). */
  baseDir?: string
  home?: string
  /** Named volumes declared at the top level. */
  declared: ReadonlySet<string>
  /** Name for an anonymous volume (`- /var/lib/x`). */
  anonymous: () => string
}

export type VolumeConversion = { volume: string; warning?: string } | { error: string }

/** One service `volumes:` entry in either syntax, as thresh's `"source:/target[:ro]"`. */
export function convertVolume(value: unknown, context: VolumeContext): VolumeConversion {
  let source: string
  let target: string
  let readOnly = false
  let warning: string | undefined
  if (isObject(value)) {
    const type = value.type ?? (typeof value.source === 'string' && /^[./~]/.test(value.source) ? 'bind' : 'volume')
    if (type !== 'volume' && type !== 'bind') return { error: `Volumes of type ${clip(String(type))} are not supported; use a named volume or a bind mount` }
    if (typeof value.target !== 'string') return { error: 'The long syntax needs a target (the path in the container)' }
    target = value.target
    source = typeof value.source === 'string' ? value.source : ''
    readOnly = value.read_only === true
    for (const key of Object.keys(value)) {
      if (!['type', 'source', 'target', 'read_only', 'volume', 'bind', 'consistency'].includes(key)) return { error: `The volume option "${clip(key)}" is not supported` }
    }
    if (type === 'bind' && source === '') return { error: 'A bind mount needs a source path' }
  } else if (typeof value === 'string') {
    const parts = value.split(':')
    if (parts.length === 1) {
      source = ''
      target = parts[0]!
    } else {
      source = parts[0]!
      target = parts[1]!
      const modes = (parts.slice(2).join(':') || '').split(',').filter(Boolean)
      if (parts.length > 3) return { error: `"${clip(value)}" is not "source:target[:mode]"` }
      for (const mode of modes) {
        if (mode === 'ro') readOnly = true
        else if (mode === 'rw') readOnly = false
        else if (['z', 'Z', 'cached', 'delegated', 'consistent', 'nocopy'].includes(mode)) warning = `The volume mode "${mode}" has no effect on thresh and is left out`
        else return { error: `Unknown volume mode "${clip(mode)}"; use ro or rw` }
      }
    }
  } else return { error: 'Expected "source:target[:ro]" or {type, source, target, read_only}' }
  if (!target.startsWith('/')) return { error: `The target "${clip(target)}" must be an absolute path in the container` }
  const ro = readOnly ? ':ro' : ''
  if (source === '') return { volume: `${context.anonymous()}:${target}${ro}`, warning: 'An anonymous volume becomes a named volume of the stack, kept until the stack is destroyed' }
  if (/^[./~]/.test(source)) {
    let path = source
    if (!source.startsWith('/')) {
      if (context.baseDir === undefined) {
        return { error: `The bind mount "${clip(source)}" is relative to the compose file, which the node cannot see: use an absolute path on the node (under its allowed-bind-paths)` }
      }
      if (source.startsWith('~')) {
        if (!context.home) return { error: `The bind mount "${clip(source)}" starts with ~, which has no meaning here: use an absolute path` }
        path = resolvePath(context.home, source.slice(1).replace(/^\//, ''))
      } else path = resolvePath(context.baseDir, source)
    } else path = resolvePath('/', source)
    return { volume: `${path}:${target}${ro}`, ...(warning ? { warning } : {}) }
  }
  if (!context.declared.has(source)) return { error: `The volume "${clip(source)}" is not declared in the top-level volumes` }
  return { volume: `${source}:${target}${ro}`, ...(warning ? { warning } : {}) }
}

/** A compose healthcheck as thresh writes it (same keys, camelCase). */
export function convertHealthcheck(value: unknown): Raw | string {
  if (!isObject(value)) return 'healthcheck must be a map'
  if (value.disable === true) return { disable: true }
  const out: Raw = {}
  let test = value.test
  if (Array.isArray(test) && test[0] === 'NONE') return { disable: true }
  if (test === undefined) return 'A healthcheck needs a test (or disable: true)'
  if (Array.isArray(test) && test[0] !== 'CMD' && test[0] !== 'CMD-SHELL') return 'A test list starts with "CMD", "CMD-SHELL" or "NONE"'
  if (typeof test === 'string') test = ['CMD-SHELL', test]
  out.test = test
  for (const [from, to] of [['interval', 'interval'], ['timeout', 'timeout'], ['start_period', 'startPeriod'], ['retries', 'retries']] as const) {
    if (value[from] !== undefined) out[to] = value[from]
  }
  return out
}
