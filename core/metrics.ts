// A tiny Prometheus text-format registry: gauges read on scrape, counters incremented in place.

export interface Counter {
  inc(by?: number): void
  readonly value: number
}

export interface MetricsRegistry {
  gauge(name: string, help: string, read: () => number): void
  counter(name: string, help: string): Counter
  /** Prometheus text of every metric, or of those whose name `include` accepts. */
  render(include?: (name: string) => boolean): string
}

interface Metric {
  type: 'gauge' | 'counter'
  help: string
  read: () => number
}

export function createMetricsRegistry(): MetricsRegistry {
  const metrics = new Map<string, Metric>()
  const register = (name: string, metric: Metric) => {
    if (!/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(name)) throw new Error(`Invalid metric name '${name}'`)
    metrics.set(name, metric)
  }
  return {
    gauge(name, help, read) {
      register(name, { type: 'gauge', help, read })
    },
    counter(name, help) {
      let value = 0
      register(name, { type: 'counter', help, read: () => value })
      return {
        inc(by = 1) {
          value += by
        },
        get value() {
          return value
        },
      }
    },
    render(include) {
      const lines: string[] = []
      for (const [name, metric] of metrics) {
        if (include && !include(name)) continue
        let value: number
        try {
          value = metric.read()
        } catch {
          continue
        }
        lines.push(`# HELP ${name} ${metric.help}`, `# TYPE ${name} ${metric.type}`, `${name} ${value}`)
      }
      return lines.join('\n') + '\n'
    },
  }
}
