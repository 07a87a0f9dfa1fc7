// Dependency graph of a stack's services: cycle detection and start levels (the DAG as parallel waves).

/**
 * Every distinct cycle reachable by depth-first search, each closed: `['a', 'b', 'a']`.
 * Iterative, so a dependency chain of any length cannot overflow the stack.
 */
export function findCycles(nodes: readonly string[], edges: ReadonlyMap<string, readonly string[]>): string[][] {
  const known = new Set(nodes)
  const state = new Map<string, 'visiting' | 'done'>()
  const path: string[] = []
  const onPath = new Map<string, number>()
  const cycles: string[][] = []
  const seen = new Set<string>()

  const record = (next: string) => {
    const cycle = path.slice(onPath.get(next)!)
    // Rotate so the same cycle found from another start is reported once.
    let first = 0
    for (let i = 1; i < cycle.length; i++) if (cycle[i]! < cycle[first]!) first = i
    const key = [...cycle.slice(first), ...cycle.slice(0, first)].join('\u0000')
    if (!seen.has(key)) {
      seen.add(key)
      cycles.push([...cycle, next])
    }
  }

  for (const root of nodes) {
    if (state.has(root)) continue
    // Each frame is a node on the current path and the index of its next edge to follow.
    const frames: Array<{ node: string; next: number }> = [{ node: root, next: 0 }]
    state.set(root, 'visiting')
    onPath.set(root, path.push(root) - 1)
    while (frames.length > 0) {
      const frame = frames[frames.length - 1]!
      const out = edges.get(frame.node) ?? []
      if (frame.next >= out.length) {
        frames.pop()
        path.pop()
        onPath.delete(frame.node)
        state.set(frame.node, 'done')
        continue
      }
      const next = out[frame.next++]!
      if (!known.has(next)) continue
      const s = state.get(next)
      if (s === 'visiting') record(next)
      else if (s === undefined) {
        state.set(next, 'visiting')
        onPath.set(next, path.push(next) - 1)
        frames.push({ node: next, next: 0 })
      }
    }
  }
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
