// Images on a node: present or pulled, with overall progress as a percentage of layer bytes.
import type Docker from 'dockerode'

export interface PullProgress {
  percent?: number
  message?: string
}

export async function hasImage(docker: Docker, image: string): Promise<boolean> {
  try {
    await docker.getImage(image).inspect()
    return true
  } catch (error) {
    if ((error as { statusCode?: number }).statusCode === 404) return false
    throw error
  }
}

/** Docker pulls `name` as `name:latest`; say so explicitly so the pull fetches one tag, not all. */
export function withTag(image: string): string {
  const lastSegment = image.slice(image.lastIndexOf('/') + 1)
  return lastSegment.includes(':') || lastSegment.includes('@') ? image : `${image}:latest`
}

export async function ensureImage(
  docker: Docker,
  image: string,
  onProgress: (progress: PullProgress) => void,
): Promise<'present' | 'pulled'> {
  if (await hasImage(docker, image)) return 'present'
  onProgress({ percent: 0, message: `pulling ${image}` })
  const stream = await docker.pull(withTag(image))
  const layers = new Map<string, { current: number; total: number }>()
  await new Promise<void>((resolve, reject) => {
    docker.modem.followProgress(
      stream,
      (error: Error | null, output: Array<{ error?: string; errorDetail?: { message?: string } }>) => {
        const failed = output?.find((o) => o.error)
        if (error) reject(error)
        else if (failed) reject(new Error(failed.errorDetail?.message ?? failed.error))
        else resolve()
      },
      (event: { id?: string; status?: string; progressDetail?: { current?: number; total?: number } }) => {
        if (event.id && event.progressDetail?.total) {
          layers.set(event.id, { current: event.progressDetail.current ?? 0, total: event.progressDetail.total })
        }
        let current = 0
        let total = 0
        for (const layer of layers.values()) {
          current += layer.current
          total += layer.total
        }
        const percent = total > 0 ? Math.min(100, Math.floor((current / total) * 100)) : undefined
        onProgress({ ...(percent !== undefined ? { percent } : {}), ...(event.status ? { message: event.status } : {}) })
      },
    )
  })
  onProgress({ percent: 100, message: `pulled ${image}` })
  return 'pulled'
}
