// `thresh stack up` overhead over the bare Docker API calls it needs (same creates/starts, same run),
// in-process and as a user runs it (the `thresh` command, a fresh Node process each time), and parallel
// start of N independent services against one. Needs Docker and `npm run build`.
import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
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
  // The CLI as a user runs it, with a home of its own (no hub login, so it deploys to the local engine).
  const home = mkdtempSync(join(tmpdir(), 'thresh-bench-'))
  const cli = (...args) => execFileSync(process.execPath, ['bin/thresh.mjs', ...args], { env: { ...process.env, THRESH_HOME: home, NO_COLOR: '1' }, stdio: 'pipe' })

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
  const samples = { direct: [], thresh: [], cli: [], node: [], one: [], many: [], directOne: [], directMany: [] }
  for (let i = 0; i < ROUNDS; i++) {
    const base = `bench-${process.pid}-${i}`
    const [d, cleanup] = await timeIt(() => direct(threeLevels(`${base}-d`)))
    await cleanup()
    const [t] = await timeIt(() => runtime.deploy(threeLevels(`${base}-t`)))
    await runtime.destroy(`${base}-t`)
    const file = join(home, `${base}-c.json`)
    const definition = threeLevels(`${base}-c`)
    writeFileSync(file, JSON.stringify({ name: definition.name, services: Object.fromEntries(definition.services.map((x) => [x.name, { image: x.image, depends_on: x.dependsOn }])) }))
    const [c] = await timeIt(() => cli('stack', 'up', file, '--local'))
    await runtime.destroy(`${base}-c`)
    // What any Node command costs before it does anything: the floor under the CLI figure.
    const [n] = await timeIt(() => execFileSync(process.execPath, ['-e', '']))
    const [one] = await timeIt(() => runtime.deploy(independent(`${base}-one`, 1)))
    await runtime.destroy(`${base}-one`)
    const [many] = await timeIt(() => runtime.deploy(independent(`${base}-many`, 6)))
    await runtime.destroy(`${base}-many`)
    const [d1, c1] = await timeIt(() => direct(independent(`${base}-d1`, 1)))
    await c1()
    const [d6, c6] = await timeIt(() => direct(independent(`${base}-d6`, 6)))
    await c6()
    samples.directOne.push(d1); samples.directMany.push(d6)
    samples.direct.push(d); samples.thresh.push(t); samples.cli.push(c); samples.node.push(n); samples.one.push(one); samples.many.push(many)
  }
  rmSync(home, { recursive: true, force: true })
  const overhead = p50(samples.thresh) - p50(samples.direct)
  const cliOverhead = p50(samples.cli) - p50(samples.direct)
  rows.push(['6 services, 3 levels, direct API p50', ms(p50(samples.direct))])
  rows.push(['same via runtime.deploy p50', ms(p50(samples.thresh))])
  rows.push(['overhead p50 (in process)', ms(overhead)])
  rows.push(['same via `thresh stack up` p50', ms(p50(samples.cli))])
  rows.push(['  of which a bare `node -e ""` p50', ms(p50(samples.node))])
  rows.push(['overhead p50 (`thresh stack up`)', ms(cliOverhead)])
  rows.push(['1 independent service p50', ms(p50(samples.one))])
  rows.push(['6 independent services p50', ms(p50(samples.many))])
  rows.push(['direct API: 6 parallel / 1 (engine limit)', (p50(samples.directMany) / p50(samples.directOne)).toFixed(2)])
  return {
    rows,
    ratio: [
      { label: 'deploy overhead / 250 ms', value: overhead / 250, target: '<= 1.00' },
      { label: '`thresh stack up` / direct API', value: p50(samples.cli) / p50(samples.direct), target: 'reported' },
      { label: '6 parallel services / 1 service', value: p50(samples.many) / p50(samples.one), target: '<= 1.50' },
    ],
  }
}
