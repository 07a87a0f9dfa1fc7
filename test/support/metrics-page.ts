// Reading a thresh process's Prometheus page (a hub's, a mid-tier's or an agent's /metrics) in tests.

/** One value from the `/metrics` page at `baseUrl`; NaN when the page has no such line. */
export async function metric(baseUrl: string, name: string): Promise<number> {
  const text = await (await fetch(`${baseUrl}/metrics`)).text()
  const line = text.split('\n').find((l) => l.startsWith(name + ' '))
  return line ? Number(line.split(' ')[1]) : Number.NaN
}
