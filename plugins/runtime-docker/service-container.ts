// Creates a service's container on every network it joins (Docker's create call takes one; the others
// are connected before it starts), and the stack's extra networks it needs.
import type Docker from 'dockerode'
import type { PlannedService, StackPlan } from '../../lib/stack/index.ts'
import { createOptions, networksOf, primaryNetwork } from './container-spec.ts'
import { statusCode } from './docker-errors.ts'
import type { Journal } from './rollout.ts'

export async function createServiceContainer(
  docker: Docker,
  service: PlannedService,
  stackNetwork: string,
  extraLabels: Record<string, string>,
  filesDir: string,
): Promise<string> {
  const { id } = await docker.createContainer(createOptions(service, stackNetwork, extraLabels, filesDir))
  const primary = primaryNetwork(service, stackNetwork)
  for (const { network, aliases } of networksOf(service, stackNetwork)) {
    if (network === primary) continue
    await docker.getNetwork(network).connect({ Container: id, EndpointConfig: { Aliases: aliases } })
  }
  return id
}

/** The networks the stack declares besides its own, created when missing (and recorded in `journal`). */
export async function ensureExtraNetworks(docker: Docker, plan: StackPlan, journal?: Journal): Promise<void> {
  for (const network of plan.objects.networks ?? []) {
    const found = await docker.listNetworks({ filters: JSON.stringify({ name: [network.name] }) })
    if (found.some((n) => n.Name === network.name)) continue
    try {
      await docker.createNetwork({ Name: network.name, Driver: 'bridge', Labels: network.labels, CheckDuplicate: true })
      if (journal) (journal.networks ??= []).push(network.name)
    } catch (error) {
      if (statusCode(error) !== 409) throw error
    }
  }
}
