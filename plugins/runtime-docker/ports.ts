// Finds host ports a stack wants that something else on the node already holds: a container or any process.
import { createSocket } from 'node:dgram'
import { createServer } from 'node:net'
import type Docker from 'dockerode'
import { ThreshError } from '../../core/index.ts'
import { hostPortKey, type PortMapping } from '../../lib/stack/index.ts'
import { PLUGIN, unreachable } from './docker-errors.ts'

/** True when this process can bind the port right now (nothing else holds it). */
export function canBind(port: PortMapping): Promise<boolean> {
  const host = port.hostIp || '0.0.0.0'
  if (port.protocol === 'udp') {
    return new Promise((resolve) => {
      const socket = createSocket('udp4')
      socket.once('error', () => {
        socket.close()
        resolve(false)
      })
      socket.bind(port.host, host, () => socket.close(() => resolve(true)))
    })
  }
  return new Promise((resolve) => {
    const server = createServer()
    server.once('error', () => resolve(false))
    server.listen({ port: port.host, host, exclusive: true }, () => server.close(() => resolve(true)))
  })
}

/** Host ports published by running containers, keyed `tcp/5432`, valued by container id. */
export async function publishedPorts(docker: Docker): Promise<Map<string, string>> {
  const held = new Map<string, string>()
  for (const container of await docker.listContainers()) {
    for (const p of container.Ports ?? []) {
      if (p.PublicPort) held.set(hostPortKey({ host: p.PublicPort, protocol: p.Type as PortMapping['protocol'] }), container.Id)
    }
  }
  return held
}

/**
 * The ports that are taken, ignoring those held by `ownContainers` (the stack's own containers that a
 * redeploy keeps or replaces).
 */
export async function portsInUse(docker: Docker, wanted: PortMapping[], ownContainers: Set<string>): Promise<PortMapping[]> {
  const held = await publishedPorts(docker)
  const taken: PortMapping[] = []
  for (const port of wanted) {
    const holder = held.get(hostPortKey(port))
    if (holder !== undefined) {
      if (!ownContainers.has(holder)) taken.push(port)
      continue
    }
    if (!(await canBind(port))) taken.push(port)
  }
  return taken
}

/** Fails with `port_in_use`, naming every taken port, when any of `wanted` is held by something else. */
export async function assertPortsFree(docker: Docker, wanted: PortMapping[], ownContainers: Set<string>): Promise<void> {
  const taken = await portsInUse(docker, wanted, ownContainers).catch((error) => {
    throw unreachable(error)
  })
  if (taken.length > 0) {
    throw new ThreshError({
      code: 'port_in_use',
      message: taken.map((p) => `Port ${p.host} is already in use on the target node`).join('; '),
      plugin: PLUGIN,
      status: 409,
      details: taken,
    })
  }
}
