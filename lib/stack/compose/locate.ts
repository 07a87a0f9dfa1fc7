// Line and column of every key and value of a YAML document, by the paths stack problems name
// (`services.web.ports[0]`), so compose problems point into the file as JSON syntax errors do.
import { isMap, isPair, isScalar, isSeq, LineCounter, type Document, type Node } from 'yaml'
import { childPath } from '../json-guard.ts'

export interface Position {
  line: number
  column: number
}

/** Finds the position of a path, or of its nearest ancestor that the document has. */
export type Locator = (path: string) => Position | undefined

// Thresh's names for compose keys, so a problem found after conversion still points at the compose key.
const COMPOSE_KEYS: Record<string, string> = {
  env: 'environment',
  dependsOn: 'depends_on',
  capAdd: 'cap_add',
  capDrop: 'cap_drop',
  workingDir: 'working_dir',
  containerName: 'container_name',
  stopSignal: 'stop_signal',
  stopGracePeriod: 'stop_grace_period',
  startPeriod: 'start_period',
  resources: 'deploy',
}

export function locator(doc: Document, counter: LineCounter): Locator {
  const positions = new Map<string, Position>()
  const at = (offset: number): Position => {
    const { line, col } = counter.linePos(offset)
    return { line, column: col }
  }
  const pending: Array<{ node: Node | null | undefined; path: string }> = [{ node: doc.contents as Node | null, path: '' }]
  while (pending.length > 0) {
    const { node, path } = pending.pop()!
    if (!node) continue
    if (node.range && !positions.has(path)) positions.set(path, at(node.range[0]))
    if (isMap(node)) {
      for (const pair of node.items) {
        if (!isPair(pair)) continue
        const key = isScalar(pair.key) ? String(pair.key.value) : undefined
        if (key === undefined) continue
        const here = childPath(path, key)
        const keyNode = pair.key as Node
        if (keyNode.range) positions.set(here, at(keyNode.range[0]))
        pending.push({ node: pair.value as Node | null, path: here })
      }
    } else if (isSeq(node)) {
      node.items.forEach((item, i) => pending.push({ node: item as Node, path: childPath(path, i) }))
    }
  }
  return (path) => {
    let current = path
      .split('.')
      .map((part) => part.replace(/^([A-Za-z]+)(?=$|\[)/, (word) => COMPOSE_KEYS[word] ?? word))
      .join('.')
    for (;;) {
      const found = positions.get(current)
      if (found) return found
      const cut = Math.max(current.lastIndexOf('.'), current.lastIndexOf('['))
      if (cut <= 0) return undefined
      current = current.slice(0, cut)
    }
  }
}
