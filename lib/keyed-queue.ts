// Runs work one at a time per key (a stack, a node, an account), in the order it was asked for; work
// for other keys runs alongside. A failure is the caller's; the next piece of work still runs.

export type KeyedQueue = <T>(key: string, fn: () => Promise<T>) => Promise<T>

export function createKeyedQueue(): KeyedQueue {
  const tails = new Map<string, Promise<unknown>>()
  return (key, fn) => {
    const run = (tails.get(key) ?? Promise.resolve()).then(fn, fn)
    const settled = run.catch(() => {})
    tails.set(key, settled)
    void settled.then(() => {
      if (tails.get(key) === settled) tails.delete(key)
    })
    return run
  }
}
