// The text forms of a stack's ports and volumes ("127.0.0.1:8080:80/udp", "data:/var/lib/db:ro"):
// the one place that reads and writes them, so the definition, Docker, the hub and the CLI agree.
import { clip, controlCharacterProblem } from './json-guard.ts'
import type { PortMapping, VolumeMount } from './types.ts'

const VOLUME_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/
const IPV4 = /^(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?:\.(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/
const HEX_GROUP = /^[0-9a-fA-F]{1,4}$/

function portNumber(text: string): number | undefined {
  if (!/^\d{1,5}$/.test(text)) return undefined
  const n = Number(text)
  return n >= 1 && n <= 65535 ? n : undefined
}

/** A dotted IPv4 address, each of its four numbers 0 to 255 (no leading zeros, which read as octal elsewhere). */
export const isIPv4 = (text: string): boolean => IPV4.test(text)

/** An IPv6 address as Docker takes it to bind: eight hex groups, `::` once at most, an IPv4 tail allowed; no zone. */
export function isIPv6(text: string): boolean {
  const halves = text.split('::')
  if (halves.length > 2) return false
  const groupsOf = (half: string) => (half === '' ? [] : half.split(':'))
  const groups = halves.flatMap(groupsOf)
  let count = groups.length
  const last = groups.at(-1)
  if (last !== undefined && last.includes('.')) {
    // The IPv4 tail ends the address: `::ffff:192.0.2.1`.
    if (!isIPv4(last) || halves.at(-1) === '') return false
    groups.pop()
    count += 1
  }
  if (!groups.every((g) => HEX_GROUP.test(g))) return false
  return halves.length === 2 ? count <= 7 : count === 8
}

/**
 * `"8080:80"`, `"127.0.0.1:8080:80"`, `"[::1]:8080:80"`, optionally `/tcp` or `/udp`; a string is
 * the problem with it.
 */
export function parsePort(value: unknown): PortMapping | string {
  const expected = 'Expected "host:container" with ports from 1 to 65535'
  if (typeof value !== 'string' && typeof value !== 'number') return expected
  let text = String(value).trim()
  const shown = clip(String(value))
  let protocol: 'tcp' | 'udp' = 'tcp'
  const slash = text.lastIndexOf('/')
  if (slash >= 0) {
    const proto = text.slice(slash + 1)
    if (proto !== 'tcp' && proto !== 'udp') return `Unknown protocol "${proto}"; use tcp or udp`
    protocol = proto
    text = text.slice(0, slash)
  }
  let hostIp = ''
  if (text.startsWith('[')) {
    const close = text.indexOf(']:')
    if (close < 0) return `${expected}, got "${shown}"`
    hostIp = text.slice(1, close)
    if (!isIPv6(hostIp)) return `"${clip(hostIp)}" is not an IPv6 address`
    text = text.slice(close + 2)
  }
  const parts = text.split(':')
  if (parts.length < 2 || parts.length > (hostIp ? 2 : 3)) return `${expected}, got "${shown}"`
  if (parts.length === 3) {
    hostIp = parts[0]!
    if (!isIPv4(hostIp)) return `"${clip(hostIp)}" is not an IPv4 address (write an IPv6 address in brackets: "[::1]:8080:80")`
  }
  const host = portNumber(parts[parts.length - 2]!)
  const container = portNumber(parts[parts.length - 1]!)
  if (host === undefined || container === undefined) return `${expected}, got "${shown}"`
  return { host, container, protocol, hostIp }
}

/** The host side of a mapping: `127.0.0.1:8080`, or `8080` on every address. */
const published = (port: PortMapping) => `${port.hostIp ? (port.hostIp.includes(':') ? `[${port.hostIp}]:` : `${port.hostIp}:`) : ''}${port.host}`

/** The form `parsePort` reads: tcp is left implicit. */
export function formatPort(port: PortMapping): string {
  return `${published(port)}:${port.container}${port.protocol === 'udp' ? '/udp' : ''}`
}

/**
 * `"name:/path"` or `"name:/path:ro"`; `"/host/dir:/path"` is a bind mount (the node decides whether it
 * allows that host path). A relative host path is the CLI's to resolve from the compose file.
 */
export function parseVolume(value: unknown): VolumeMount | string {
  if (typeof value !== 'string') return 'Expected "name:/path"'
  const parts = value.split(':')
  const [name, path, mode] = parts
  if (parts.length < 2 || parts.length > 3 || !name || !path) return `Expected "name:/path", got "${clip(value)}"`
  if (name.startsWith('.') || name.startsWith('~')) return `The bind mount "${clip(name)}" is relative: write an absolute host path (the thresh CLI resolves relative paths of a compose file deployed locally)`
  const bind = name.startsWith('/')
  if (bind) {
    const problem = controlCharacterProblem(name)
    if (problem) return `The host path ${problem}`
    if (name.split('/').includes('..')) return `The host path "${clip(name)}" must not contain ".."`
  } else if (!VOLUME_NAME.test(name)) return `"${clip(name)}" is not a valid volume name`
  if (!path.startsWith('/')) return `The mount path must be absolute, got "${clip(path)}"`
  const control = controlCharacterProblem(path)
  if (control) return `The mount path ${control}`
  if (mode !== undefined && mode !== 'ro' && mode !== 'rw') return `Unknown volume mode "${mode}"; use ro or rw`
  return { name, path, readOnly: mode === 'ro', ...(bind ? { bind: true } : {}) }
}

/** The form `parseVolume` reads (also Docker's `source:target:ro` bind form, whose source is a path). */
export function formatVolume(volume: VolumeMount): string {
  return `${volume.name}:${volume.path}${volume.readOnly ? ':ro' : ''}`
}

/** A host port is held per protocol: `tcp/5432`. Two mappings with the same key cannot both be published. */
export function hostPortKey(port: Pick<PortMapping, 'host' | 'protocol'>): string {
  return `${port.protocol}/${port.host}`
}

/** Docker's name for a container port, as in ExposedPorts and PortBindings: `80/tcp`. */
export function containerPortKey(port: Pick<PortMapping, 'container' | 'protocol'>): string {
  return `${port.container}/${port.protocol}`
}

/** A port for people reading a plan: `127.0.0.1:8080 -> 80/tcp`. */
export function describePort(port: PortMapping): string {
  return `${published(port)} -> ${containerPortKey(port)}`
}

/** A planned volume for people reading a plan: the stack-scoped Docker volume and where it is mounted. */
export function describeVolume(volume: { volume: string; path: string; readOnly: boolean }): string {
  return `${volume.volume} -> ${volume.path}${volume.readOnly ? ' (read-only)' : ''}`
}
