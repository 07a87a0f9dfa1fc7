// The Request hono routes a WebSocket upgrade with, read straight from Node's IncomingMessage: url,
// method and headers without undici's Request and Headers, which cost more than the rest of accepting
// a connection when a fleet reconnects at once. Anything else a handler asks of it (signal, clone(),
// ...) builds the full Request on first use. An upgrade has no body.
import type { IncomingMessage } from 'node:http'

const INCOMING = Symbol('incoming')
const URL_TEXT = Symbol('url')
const HEADERS = Symbol('headers')
const FULL = Symbol('full request')

interface UpgradeRequest extends Request {
  [INCOMING]: IncomingMessage
  [URL_TEXT]: string
  [HEADERS]?: Headers
  [FULL]?: Request
}

const valueOf = (value: string | string[] | undefined): string | null => (value === undefined ? null : Array.isArray(value) ? value.join(', ') : value)

/** Request headers as Headers, read from the IncomingMessage; immutable, as a Request's are. */
class IncomingHeaders extends Headers {
  readonly #incoming: IncomingMessage

  constructor(incoming: IncomingMessage) {
    super()
    this.#incoming = incoming
  }
  override get(name: string): string | null {
    return valueOf(this.#incoming.headers[name.toLowerCase()])
  }
  override has(name: string): boolean {
    return this.#incoming.headers[name.toLowerCase()] !== undefined
  }
  override getSetCookie(): string[] {
    return []
  }
  override *entries(): HeadersIterator<[string, string]> {
    const names = Object.keys(this.#incoming.headers).sort()
    for (const name of names) yield [name, valueOf(this.#incoming.headers[name])!]
  }
  override *keys(): HeadersIterator<string> {
    for (const [name] of this.entries()) yield name
  }
  override *values(): HeadersIterator<string> {
    for (const [, value] of this.entries()) yield value
  }
  override [Symbol.iterator](): HeadersIterator<[string, string]> {
    return this.entries()
  }
  override forEach(callback: (value: string, name: string, parent: Headers) => void, thisArg?: unknown): void {
    for (const [name, value] of this.entries()) callback.call(thisArg, value, name, this)
  }
  override set(): void {
    throw new TypeError('Headers of a request are immutable.')
  }
  override append(): void {
    throw new TypeError('Headers of a request are immutable.')
  }
  override delete(): void {
    throw new TypeError('Headers of a request are immutable.')
  }
}

function fullRequest(request: UpgradeRequest): Request {
  if (!request[FULL]) {
    const headers = new Headers()
    const raw = request[INCOMING].rawHeaders
    for (let i = 0; i < raw.length; i += 2) headers.append(raw[i]!, raw[i + 1]!)
    request[FULL] = new Request(request.url, { method: request.method, headers })
  }
  return request[FULL]
}

// Built on first use, over whatever Request is global by then (@hono/node-server installs a subclass
// when its server is created), so `instanceof Request` holds for the handlers.
let prototype: object | undefined

function buildPrototype(): object {
  const base = globalThis.Request
  const proto = Object.create(base.prototype) as object
  Object.defineProperties(proto, {
    url: {
      get(this: UpgradeRequest) {
        return this[URL_TEXT]
      },
    },
    method: {
      get(this: UpgradeRequest) {
        return this[INCOMING].method ?? 'GET'
      },
    },
    headers: {
      get(this: UpgradeRequest) {
        return (this[HEADERS] ??= new IncomingHeaders(this[INCOMING]))
      },
    },
  })
  // Every other Request member, forwarded to the full Request.
  for (let level = base.prototype; level && level !== Object.prototype; level = Object.getPrototypeOf(level)) {
    for (const key of Reflect.ownKeys(level)) {
      if (key === 'constructor' || Object.prototype.hasOwnProperty.call(proto, key)) continue
      const descriptor = Object.getOwnPropertyDescriptor(level, key)!
      if (typeof descriptor.value === 'function') {
        Object.defineProperty(proto, key, {
          value(this: UpgradeRequest, ...args: unknown[]) {
            const full = fullRequest(this) as unknown as Record<PropertyKey, (...a: unknown[]) => unknown>
            return full[key]!(...args)
          },
        })
      } else if (descriptor.get) {
        Object.defineProperty(proto, key, {
          get(this: UpgradeRequest) {
            return (fullRequest(this) as unknown as Record<PropertyKey, unknown>)[key]
          },
        })
      }
    }
  }
  return proto
}

export function upgradeRequest(incoming: IncomingMessage): Request {
  const scheme = (incoming.socket as { encrypted?: boolean }).encrypted ? 'https' : 'http'
  const request = Object.create((prototype ??= buildPrototype())) as UpgradeRequest
  request[INCOMING] = incoming
  request[URL_TEXT] = `${scheme}://${incoming.headers.host ?? 'localhost'}${incoming.url ?? '/'}`
  return request
}
