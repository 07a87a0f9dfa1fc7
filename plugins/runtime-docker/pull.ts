// Pulls every image a stack plan needs, at once, reporting progress for each service that uses it.
import type Docker from 'dockerode'
import { ensureImage } from '../../lib/docker/images.ts'
import type { ProgressEvent, StackPlan } from '../../lib/stack/index.ts'

/**
 * Starts the pull of every image of the plan at once, reported for each service that uses it. A service
 * awaits only its own image's promise, where a failed pull then surfaces.
 */
export function pullAll(docker: Docker, plan: StackPlan, emit: (event: ProgressEvent) => void): Map<string, Promise<void>> {
  const pulls = new Map<string, Promise<void>>()
  for (const service of plan.services) {
    if (pulls.has(service.image)) continue
    const promise = ensureImage(docker, service.image, (p) => {
      for (const s of plan.services.filter((x) => x.image === service.image)) {
        if (p.percent !== undefined || p.message) {
          emit({ type: 'pull', stack: plan.name, service: s.name, image: service.image, ...p })
        }
      }
    }).then(() => {})
    promise.catch(() => {})
    pulls.set(service.image, promise)
  }
  return pulls
}
