// How `thresh stack` shows things to people: tables, plans and live deploy progress.
import { describePort, describeVolume, type ProgressEvent, type StackPlan, type StackState } from '../../lib/stack/index.ts'

export function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)))
  return rows.map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ')).join('\n')
}

export function age(iso: string | undefined, now = Date.now()): string {
  if (!iso) return '-'
  const s = Math.max(0, Math.round((now - Date.parse(iso)) / 1000))
  if (s < 60) return `${s}s`
  if (s < 3600) return `${Math.floor(s / 60)}m`
  if (s < 86400) return `${Math.floor(s / 3600)}h`
  return `${Math.floor(s / 86400)}d`
}

export function formatList(stacks: StackState[]): string {
  if (stacks.length === 0) return 'No stacks on this node.'
  return table([
    ['NAME', 'STATUS', 'NODE', 'SVCS', 'AGE'],
    ...stacks.map((s) => [
      s.name,
      s.rolledBack ? `${s.status} (rolled back)` : s.status,
      'local',
      `${s.services.filter((x) => x.status === 'running').length}/${s.services.length}`,
      age(s.createdAt),
    ]),
  ])
}

export function formatInfo(state: StackState): string {
  const lines = [`Stack ${state.name}: ${state.status}${state.traefik ? ' (Traefik)' : ''}`]
  if (state.rolledBack) lines.push(`Last deploy: rolled back: ${state.rolledBack}`)
  lines.push('')
  const rows = [['NAME', 'IMAGE', 'STATUS', 'PORTS']]
  for (const s of state.services) rows.push([s.name, s.image, s.status, s.ports.join(', ') || '-'])
  const rendered = table(rows).split('\n')
  lines.push(rendered[0]!)
  state.services.forEach((s, i) => {
    lines.push(rendered[i + 1]!)
    if (s.error) lines.push(`  ↳ error: ${s.error}`)
  })
  return lines.join('\n')
}

export function formatPlan(plan: StackPlan): string {
  const lines = [`Stack ${plan.name}: ${plan.services.length} services in ${plan.levels.length} levels${plan.traefik ? ', routed by Traefik' : ''}`]
  plan.levels.forEach((level, i) => lines.push(`  level ${i + 1}: ${level.join(', ')}`))
  lines.push('')
  for (const s of plan.services) {
    lines.push(`${s.name}  ${s.image}  (container ${s.containerName})`)
    for (const p of s.ports) lines.push(`  port    ${describePort(p)}`)
    for (const v of s.volumes) lines.push(`  volume  ${describeVolume(v)}`)
    for (const [k, v] of Object.entries(s.env)) lines.push(`  env     ${k}=${v}`)
    if (s.dependsOn.length) {
      const waits = s.dependsOn.map((d) => ({ service_healthy: `${d} (healthy)`, service_completed_successfully: `${d} (completed)` })[s.dependsOnConditions?.[d] as string] ?? d)
      lines.push(`  after   ${waits.join(', ')}`)
    }
    if (s.restart) lines.push(`  restart ${s.restart}`)
    if (s.user) lines.push(`  user    ${s.user}`)
    for (const f of s.secrets ?? []) lines.push(`  secret  ${f.source} -> ${f.target} (read-only)`)
    for (const f of s.configs ?? []) lines.push(`  config  ${f.source} -> ${f.target} (read-only)`)
    for (const [n, { aliases }] of Object.entries(s.networks ?? {})) lines.push(`  network ${n === 'default' ? plan.objects.network.name : n}${aliases.length ? ` (aliases ${aliases.join(', ')})` : ''}`)
  }
  lines.push('', `network ${[plan.objects.network.name, ...(plan.objects.networks ?? []).map((n) => n.name)].join(', ')}`)
  if (plan.objects.volumes.length) lines.push(`volumes ${plan.objects.volumes.map((v) => v.name).join(', ')}`)
  return lines.join('\n')
}

/** One line per change of a service's state; pull progress only at each further 10%. */
export function progressPrinter(write: (line: string) => void): (event: ProgressEvent) => void {
  const lastPercent = new Map<string, number>()
  const icons: Record<string, string> = { running: '✓', error: '✗', blocked: '⊘' }
  return (event) => {
    if (event.type === 'pull') {
      if (event.percent === undefined) return
      const last = lastPercent.get(event.service) ?? -10
      if (event.percent < 100 && event.percent - last < 10) return
      lastPercent.set(event.service, event.percent)
      write(`  ${event.service.padEnd(20)} pulling ${event.image} ${event.percent}%`)
    } else if (event.type === 'service') {
      if (event.status === 'pending') return
      const icon = icons[event.status] ?? '·'
      write(`${icon} ${event.service.padEnd(20)} ${event.status}${event.message ? ` (${event.message})` : ''}`)
    }
  }
}
