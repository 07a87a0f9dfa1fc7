// A small unbounded async queue: carries a client's upload stream items to the hub method that
// consumes them as an AsyncIterable.

export interface Channel<T> extends AsyncIterable<T> {
  push(item: T): void
  end(error?: Error): void
}

export function createChannel<T>(): Channel<T> {
  const items: T[] = []
  let done = false
  let failure: Error | undefined
  let wake: (() => void) | undefined
  return {
    push(item) {
      if (done) return
      items.push(item)
      wake?.()
    },
    end(error) {
      if (done) return
      done = true
      failure = error
      wake?.()
    },
    async *[Symbol.asyncIterator]() {
      for (;;) {
        if (items.length > 0) {
          yield items.shift() as T
          continue
        }
        if (done) {
          if (failure) throw failure
          return
        }
        await new Promise<void>((resolve) => (wake = resolve))
        wake = undefined
      }
    },
  }
}
