// The agent's figures beyond the original MetricsData: load average, swap, network and disk I/O rates
// from the kernel's counters, temperatures from sysfs; and the hub's edge refuses malformed ones.
import { execFileSync } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import { join } from 'node:path'
import process from 'node:process'
import { describe, expect, it } from 'vitest'
import { checkMetricsData } from '../../lib/agent-session/wire-checks.ts'
import { createSystemCollector } from '../../plugins/metrics-system/index.ts'
import { parseDiskstats, parseNetDev, readTemperatures } from '../../plugins/metrics-system/host-extras.ts'
import { tempHome } from '../support/process.ts'

describe('host figures on the agent', () => {
  it('reports load, swap as the kernel counts it, and per-interface network and per-disk rates from the second sample on', async () => {
    const collector = createSystemCollector({ threshVersion: 'test', runtime: { name: 'node', version: process.version } })
    await collector.collect()
    // Rates need two samples; loopback and container veths are left out, so the interfaces are the host's own.
    await new Promise((r) => setTimeout(r, 300))
    const sample = await collector.collect()
    expect(sample.loadAverage).toHaveLength(3)
    expect(sample.loadAverage![0]).toBeCloseTo(os.loadavg()[0]!, 0)
    const swapLine = execFileSync('sh', ['-c', "grep SwapTotal /proc/meminfo | awk '{print $2}'"]).toString().trim()
    expect(sample.swapTotalMB).toBe(Math.round(Number(swapLine) / 1024))
    expect(sample.network!.map((n) => n.interface)).not.toContain('lo')
    for (const n of sample.network!) expect(n.rxBytesPerSec).toBeGreaterThanOrEqual(0)
    for (const d of sample.diskIo!) expect(d.device).not.toMatch(/^loop/)
    expect(() => checkMetricsData(JSON.parse(JSON.stringify(sample)))).not.toThrow()
  })

  it('parses /proc/net/dev and /proc/diskstats counters', () => {
    const net = parseNetDev(
      'Inter-|   Receive |  Transmit\n face |bytes packets errs drop fifo frame compressed multicast|bytes\n' +
        '    lo: 100 1 0 0 0 0 0 0 100 1 0 0 0 0 0 0\n  eth0: 5000 10 0 0 0 0 0 0 7000 12 0 0 0 0 0 0\nveth12: 1 1 0 0 0 0 0 0 1 1 0 0 0 0 0 0\n',
    )
    expect([...net]).toEqual([['eth0', { rx: 5000, tx: 7000 }]])
    const disks = parseDiskstats('   8       0 sda 100 0 2048 0 50 0 4096 0 0 0 0\n   8       1 sda1 1 0 8 0 1 0 8 0 0 0 0\n', new Set(['sda']))
    expect([...disks]).toEqual([['sda', { read: 2048 * 512, write: 4096 * 512 }]])
  })

  it('reads temperatures from hwmon chips and thermal zones, named by chip and label', () => {
    const root = tempHome('thresh-sysfs-')
    mkdirSync(join(root, 'hwmon/hwmon0'), { recursive: true })
    writeFileSync(join(root, 'hwmon/hwmon0/name'), 'coretemp\n')
    writeFileSync(join(root, 'hwmon/hwmon0/temp1_input'), '45500\n')
    writeFileSync(join(root, 'hwmon/hwmon0/temp1_label'), 'Package id 0\n')
    mkdirSync(join(root, 'thermal/thermal_zone0'), { recursive: true })
    writeFileSync(join(root, 'thermal/thermal_zone0/type'), 'acpitz\n')
    writeFileSync(join(root, 'thermal/thermal_zone0/temp'), '38000\n')
    expect(readTemperatures(root)).toEqual([
      { sensor: 'coretemp Package id 0', celsius: 45.5 },
      { sensor: 'acpitz', celsius: 38 },
    ])
    expect(readTemperatures(join(root, 'missing'))).toEqual([])
  })

  it('refuses malformed host figures at the edge, naming the field, and accepts a sample without them', () => {
    const base = { agentId: 'a', timestamp: new Date().toISOString(), cpuPercent: 1 }
    expect(() => checkMetricsData(base)).not.toThrow()
    expect(() => checkMetricsData({ ...base, network: [{ interface: 'eth0', rxBytesPerSec: -1, txBytesPerSec: 0 }] })).toThrow(/network\[0\]\.rxBytesPerSec/)
    expect(() => checkMetricsData({ ...base, loadAverage: [1, 2, 3, 4] })).toThrow(/loadAverage/)
    expect(() => checkMetricsData({ ...base, temperatures: [{ sensor: 'x', celsius: 5000 }] })).toThrow(/celsius/)
  })
})
