// `thresh stack up` overhead over the bare Docker API calls it needs (same creates/starts, same run),
// and parallel start of N independent services against one. Needs Docker and `npm run build`.
import { execFileSync } from 'node:child_process'
import Docker from 'dockerode'

export const name = 'stack deploy vs direct Docker API'

const IMAGE = 'thresh-test/busybox:1'
const ROUNDS = 5

const p50 = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
const ms = (n) => `${n.toFixed(0)} ms`

export async function run() {
  execFileSync('sh', ['scripts/docker-start.sh'], { stdio: 'inherit' })
  execFileSync('sh', ['scripts/docker-test-images.sh'], { stdio: 'inherit' })
  const { parseStack, planStack } = await import('../dist/lib/stack/index.js')
  const { createDockerRuntime } = await import('../dist/plugins/runtime-docker/index.js')
  const { createOptions } = await import('../dist/plugins/runtime-docker/container-spec.js')
  const docker = new Docker()
  const runtime = createDockerRuntime({ docker, proxy: false })
  const graceless = createDockerRuntime({ docker, proxy: false, startGraceMs: 0 })

  const threeLevels = (stackName) => {
    const r = parseStack({
      name: stackName,
      services: {
        a1: { image: IMAGE }, a2: { image: IMAGE },
        b1: { image: IMAGE, depends_on: ['a1', 'a2'] }, b2: { image: IMAGE, depends_on: ['a1'] },
        c1: { image: IMAGE, depends_on: ['b1', 'b2'] }, c2: { image: IMAGE, depends_on: ['b2'] },
      },
    })
    return r.stack
  }
  const independent = (stackName, n) =>
    parseStack({ name: stackName, services: Object.fromEntries(Array.from({ length: n }, (_, i) => [`s${i}`, { image: IMAGE }])) }).stack

  // The same objects thresh creates, created straight through dockerode, level by level in parallel.
  async function direct(stack) {
    const plan = planStack(stack)
    const network = await docker.createNetwork({ Name: plan.objects.network.name, Labels: plan.objects.network.labels })
    for (const level of plan.levels) {
      await Promise.all(level.map(async (svc) => {
        const c = await docker.createContainer(createOptions(plan.services.find((s) => s.name === svc), plan.objects.network.name))
        await c.start()
      }))
    }
    return async () => {
      const list = await docker.listContainers({ all: true, filters: JSON.stringify({ label: [`thresh.stack=${stack.name}`] }) })
      await Promise.all(list.map((c) => docker.getContainer(c.Id).remove({ force: true })))
      await network.remove()
    }
  }

  const timeIt = async (fn) => {
    const t = performance.now()
    const after = await fn()
    return [performance.now() - t, after]
  }

  const rows = []
  const samples = { direct: [], thresh: [], graceless: [], one: [], many: [], directOne: [], directMany: [] }
  for (let i = 0; i < ROUNDS; i++) {
    const base = `bench-${process.pid}-${i}`
    const [d, cleanup] = await timeIt(() => direct(threeLevels(`${base}-d`)))
    await cleanup()
    const [t] = await timeIt(() => runtime.deploy(threeLevels(`${base}-t`)))
    await runtime.destroy(`${base}-t`)
    const [g] = await timeIt(() => graceless.deploy(threeLevels(`${base}-g`)))
    await graceless.destroy(`${base}-g`)
    const [one] = await timeIt(() => runtime.deploy(independent(`${base}-one`, 1)))
    await runtime.destroy(`${base}-one`)
    const [many] = await timeIt(() => runtime.deploy(independent(`${base}-many`, 6)))
    await runtime.destroy(`${base}-many`)
    const [d1, c1] = await timeIt(() => direct(independent(`${base}-d1`, 1)))
    await c1()
    const [d6, c6] = await timeIt(() => direct(independent(`${base}-d6`, 6)))
    await c6()
    samples.directOne.push(d1); samples.directMany.push(d6)
    samples.direct.push(d); samples.thresh.push(t); samples.graceless.push(g); samples.one.push(one); samples.many.push(many)
  }
  const overhead = p50(samples.thresh) - p50(samples.direct)
  const overheadGraceless = p50(samples.graceless) - p50(samples.direct)
  rows.push(['6 services, 3 levels, direct API p50', ms(p50(samples.direct))])
  rows.push(['same via thresh stack up p50', ms(p50(samples.thresh))])
  rows.push(['overhead p50 (150 ms start grace)', ms(overhead)])
  rows.push(['overhead p50 (startGraceMs: 0)', ms(overheadGraceless)])
  rows.push(['1 independent service p50', ms(p50(samples.one))])
  rows.push(['6 independent services p50', ms(p50(samples.many))])
  rows.push(['direct API: 6 parallel / 1 (engine limit)', (p50(samples.directMany) / p50(samples.directOne)).toFixed(2)])
  return {
    rows,
    ratio: [
      { label: 'deploy overhead / 250 ms', value: overhead / 250, target: '<= 1.00' },
      { label: '6 parallel services / 1 service', value: p50(samples.many) / p50(samples.one), target: '<= 1.50' },
    ],
  }
}
