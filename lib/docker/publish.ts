// Docker's ExposedPorts and PortBindings for a list of port mappings.
import { containerPortKey, type PortMapping } from '../stack/index.ts'

/** Docker's ExposedPorts and PortBindings for these mappings. */
export function publish(ports: PortMapping[]): { exposed: Record<string, object>; bindings: Record<string, Array<{ HostIp: string; HostPort: string }>> } {
  const exposed: Record<string, object> = {}
  const bindings: Record<string, Array<{ HostIp: string; HostPort: string }>> = {}
  for (const port of ports) {
    const key = containerPortKey(port)
    exposed[key] = {}
    ;(bindings[key] ??= []).push({ HostIp: port.hostIp, HostPort: String(port.host) })
  }
  return { exposed, bindings }
}
