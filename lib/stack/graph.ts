// Dependency graph of a stack's services: cycle detection and start levels (the DAG as parallel waves).

/** Every distinct cycle reachable by depth-first search, each closed: `['a', 'b', 'a']`. */
export function findCycles(nodes: readonly string[], edges: ReadonlyMap<string, readonly string[]>): string[][] {
  const state = new Map<string, 'visiting' | 'done'>()
  const stack: string[] = []
  const cycles: string[][] = []
  const seen = new Set<string>()

  const visit = (node: string) => {
    state.set(node, 'visiting')
    stack.push(node)
    for (const next of edges.get(node) ?? []) {
      if (!nodes.includes(next)) continue
      const s = state.get(next)
      if (s === 'visiting') {
        const cycle = stack.slice(stack.indexOf(next))
        // Rotate so the same cycle found from another start is reported once.
        const start = cycle.indexOf([...cycle].sort()[0]!)
        const canonical = [...cycle.slice(start), ...cycle.slice(0, start)]
        const key = canonical.join('\u0000')
        if (!seen.has(key)) {
          seen.add(key)
          cycles.push([...cycle, next])
        }
      } else if (s === undefined) visit(next)
    }
    stack.pop()
    state.set(node, 'done')
  }
  for (const node of nodes) if (!state.has(node)) visit(node)
  return cycles
}

/**
 * Groups nodes into levels: level 0 has no dependencies, level n depends only on earlier levels.
 * Nodes on a cycle (or depending on one) are left out; validation rejects such graphs first.
 */
export function dependencyLevels(
  nodes: readonly string[],
  edges: ReadonlyMap<string, readonly string[]>,
): string[][] {
  const placed = new Set<string>()
  const levels: string[][] = []
  let remaining = [...nodes]
  while (remaining.length > 0) {
    const level = remaining.filter((n) => (edges.get(n) ?? []).every((d) => placed.has(d) || !nodes.includes(d)))
    if (level.length === 0) break
    for (const n of level) placed.add(n)
    levels.push(level)
    remaining = remaining.filter((n) => !placed.has(n))
  }
  return levels
}
