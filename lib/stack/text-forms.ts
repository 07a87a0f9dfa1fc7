// The text forms of a stack's ports and volumes ("127.0.0.1:8080:80/udp", "data:/var/lib/db:ro"):
// the one place that reads and writes them, so the definition, Docker, the hub and the CLI agree.
import type { PortMapping, VolumeMount } from './types.ts'

const VOLUME_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/

function portNumber(text: string): number | undefined {
  if (!/^\d{1,5}$/.test(text)) return undefined
  const n = Number(text)
  return n >= 1 && n <= 65535 ? n : undefined
}

/** `"8080:80"`, `"127.0.0.1:8080:80"`, optionally `/tcp` or `/udp`; a string is the problem with it. */
export function parsePort(value: unknown): PortMapping | string {
  const expected = 'Expected "host:container" with ports from 1 to 65535'
  if (typeof value !== 'string' && typeof value !== 'number') return expected
  let text = String(value).trim()
  let protocol: 'tcp' | 'udp' = 'tcp'
  const slash = text.lastIndexOf('/')
  if (slash >= 0) {
    const proto = text.slice(slash + 1)
    if (proto !== 'tcp' && proto !== 'udp') return `Unknown protocol "${proto}"; use tcp or udp`
    protocol = proto
    text = text.slice(0, slash)
  }
  const parts = text.split(':')
  if (parts.length < 2 || parts.length > 3) return `${expected}, got "${value}"`
  const hostIp = parts.length === 3 ? parts[0]! : ''
  if (hostIp !== '' && !/^\d{1,3}(\.\d{1,3}){3}$/.test(hostIp)) return `"${hostIp}" is not an IPv4 address`
  const host = portNumber(parts[parts.length - 2]!)
  const container = portNumber(parts[parts.length - 1]!)
  if (host === undefined || container === undefined) return `${expected}, got "${value}"`
  return { host, container, protocol, hostIp }
}

/** The host side of a mapping: `127.0.0.1:8080`, or `8080` on every address. */
const published = (port: PortMapping) => `${port.hostIp ? `${port.hostIp}:` : ''}${port.host}`

/** The form `parsePort` reads: tcp is left implicit. */
export function formatPort(port: PortMapping): string {
  return `${published(port)}:${port.container}${port.protocol === 'udp' ? '/udp' : ''}`
}

/** `"name:/path"` or `"name:/path:ro"`; bind mounts are not part of a portable stack. */
export function parseVolume(value: unknown): VolumeMount | string {
  if (typeof value !== 'string') return 'Expected "name:/path"'
  const parts = value.split(':')
  const [name, path, mode] = parts
  if (parts.length < 2 || parts.length > 3 || !name || !path) return `Expected "name:/path", got "${value}"`
  if (name.startsWith('/') || name.startsWith('.')) return `Only named volumes are supported ("name:/path"), got "${value}"`
  if (!VOLUME_NAME.test(name)) return `"${name}" is not a valid volume name`
  if (!path.startsWith('/')) return `The mount path must be absolute, got "${path}"`
  if (mode !== undefined && mode !== 'ro' && mode !== 'rw') return `Unknown volume mode "${mode}"; use ro or rw`
  return { name, path, readOnly: mode === 'ro' }
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
