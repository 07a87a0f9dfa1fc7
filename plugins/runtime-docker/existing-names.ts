// Keeps the Docker names a stack already has: its network and volumes are found by their labels, so a
// stack deployed under the old `-` names (before #14) keeps its network and its data after an upgrade.
import type Docker from 'dockerode'
import { LABELS, legacyObjectName, type StackPlan } from '../../lib/stack/index.ts'
import { labelFilters } from './stack-inspection.ts'

/** `plan` with the names of the network and volumes this stack already owns on the node. */
export async function withExistingNames(docker: Docker, plan: StackPlan): Promise<StackPlan> {
  const filters = labelFilters(plan.account, plan.name)
  const [networks, volumes] = await Promise.all([docker.listNetworks({ filters }), docker.listVolumes({ filters }).then((r) => r.Volumes ?? [])])
  const network = networks.find((n) => n.Name === plan.objects.network.name) ?? networks[0]
  const renamed = new Map<string, string>()
  for (const planned of plan.objects.volumes) {
    const logical = planned.labels[LABELS.volume]!
    // Only volumes labelled with this account and stack are candidates: an old name another stack
    // created (the collision of #14) is never adopted.
    const found =
      volumes.find((v) => v.Name === planned.name) ??
      volumes.find((v) => v.Labels?.[LABELS.volume] === logical) ??
      volumes.find((v) => v.Name === legacyObjectName(plan.name, plan.account, logical) && v.Labels?.[LABELS.volume] === undefined)
    if (found && found.Name !== planned.name) renamed.set(planned.name, found.Name)
  }
  if ((!network || network.Name === plan.objects.network.name) && renamed.size === 0) return plan
  const rename = (name: string) => renamed.get(name) ?? name
  return {
    ...plan,
    services: plan.services.map((s) => ({ ...s, volumes: s.volumes.map((v) => ({ ...v, volume: rename(v.volume) })) })),
    objects: {
      ...plan.objects,
      network: { ...plan.objects.network, name: network?.Name ?? plan.objects.network.name },
      volumes: plan.objects.volumes.map((v) => ({ ...v, name: rename(v.name) })),
    },
  }
}
