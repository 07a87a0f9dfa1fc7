// The dashboard's live channel: a minimal SignalR JSON-protocol client for `/dashboardhub` over a
// WebSocket (negotiate v1, handshake, pings, reconnect); where no WebSocket gets through (a proxy
// refusing upgrades) or the hub has no dashboard hub, the same events as server-sent events at
// `/ui/events`; failing both, polling. Pushes reach subscribers as `{ target, args }`.

const RS = '\x1e'
const RETRY_MS = [0, 2000, 5000, 10000, 30000]
const POLL_MS = 5000
// Even when live, refetch now and then: a missed push (a reconnect in between) heals by itself.
const SAFETY_MS = 60000

/** @typedef {{ target: string, args: unknown[] }} LiveEvent */
/** @typedef {'connecting' | 'live' | 'polling' | 'offline'} LiveState */

/** @type {Set<(e: LiveEvent) => void>} */
const listeners = new Set()
/** @type {Set<(s: LiveState) => void>} */
const stateListeners = new Set()
/** @type {LiveState} */
let state = 'offline'
/** @type {WebSocket | EventSource | null} */
let socket = null
/** Which channel this hub answered last: try it first next time. @type {'signalr' | 'sse'} */
let channel = 'signalr'
/** @type {ReturnType<typeof setTimeout> | undefined} */
let retryTimer
/** @type {ReturnType<typeof setInterval> | undefined} */
let pingTimer
/** @type {ReturnType<typeof setInterval> | undefined} */
let pollTimer
let attempt = 0
/** Whether the channel was live before, so that going live again is a reconnect. */
let wasLive = false
let stopped = true
/** @type {() => string | null} */
let tokenOf = () => null

/** @param {LiveState} next */
function setState(next) {
  if (state === next) return
  state = next
  for (const fn of stateListeners) fn(next)
}

/** @param {LiveEvent} event */
function emit(event) {
  for (const fn of listeners) {
    try {
      fn(event)
    } catch (error) {
      console.error('[thresh] live update handler failed', error)
    }
  }
}

/** Subscribes to pushed events; returns the unsubscribe function. @param {(e: LiveEvent) => void} fn */
export function onLive(fn) {
  listeners.add(fn)
  return () => listeners.delete(fn)
}

/** @param {(s: LiveState) => void} fn */
export function onLiveState(fn) {
  stateListeners.add(fn)
  fn(state)
  return () => stateListeners.delete(fn)
}

export function liveState() {
  return state
}

/** Starts the channel for a signed-in user. @param {() => string | null} token */
export function startLive(token) {
  tokenOf = token
  if (!stopped) return
  stopped = false
  attempt = 0
  wasLive = false
  connect()
}

export function stopLive() {
  stopped = true
  clearTimeout(retryTimer)
  clearInterval(pingTimer)
  clearInterval(pollTimer)
  pollTimer = undefined
  socket?.close()
  socket = null
  setState('offline')
}

function startPolling() {
  setState('polling')
  clearInterval(pollTimer)
  pollTimer = setInterval(() => emit({ target: 'poll', args: [] }), POLL_MS)
}

function wentLive() {
  attempt = 0
  clearInterval(pollTimer)
  pollTimer = setInterval(() => emit({ target: 'poll', args: [] }), SAFETY_MS)
  setState('live')
  // Something may have changed while we were away: let views refetch once. Not on the first
  // connection: views have just loaded, and refetching 1,000 nodes then is a visible stall.
  if (wasLive) emit({ target: 'reconnected', args: [] })
  wasLive = true
}

function scheduleRetry() {
  if (stopped) return
  clearInterval(pingTimer)
  startPolling()
  const delay = RETRY_MS[Math.min(attempt++, RETRY_MS.length - 1)]
  retryTimer = setTimeout(connect, delay)
}

async function connect() {
  if (stopped) return
  const token = tokenOf()
  if (!token) return stopLive()
  if (state !== 'polling') setState('connecting')
  if (channel === 'sse') return connectEvents(token)
  let negotiated
  try {
    const response = await fetch('/dashboardhub/negotiate?negotiateVersion=1', {
      method: 'POST',
      headers: { authorization: `Bearer ${token}` },
    })
    if (response.status === 404) {
      channel = 'sse'
      return connectEvents(token)
    }
    if (!response.ok) throw new Error(`negotiate answered ${response.status}`)
    negotiated = await response.json()
    if (!negotiated.availableTransports?.some((/** @type {any} */ t) => t.transport === 'WebSockets')) throw new Error('no WebSockets')
  } catch {
    // No dashboard hub (or it refused us): keep the page fresh by polling and try again later.
    return scheduleRetry()
  }
  const id = negotiated.connectionToken ?? negotiated.connectionId
  const url = new URL(`/dashboardhub?id=${encodeURIComponent(id)}&access_token=${encodeURIComponent(token)}`, location.href)
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:'
  const ws = new WebSocket(url)
  socket = ws
  let handshaken = false
  let buffer = ''
  ws.onopen = () => ws.send(JSON.stringify({ protocol: 'json', version: 1 }) + RS)
  ws.onmessage = (ev) => {
    buffer += String(ev.data)
    let end
    while ((end = buffer.indexOf(RS)) >= 0) {
      const frame = buffer.slice(0, end)
      buffer = buffer.slice(end + 1)
      let message
      try {
        message = JSON.parse(frame)
      } catch {
        continue
      }
      if (!handshaken) {
        if (message.error) return ws.close(4000)
        handshaken = true
        wentLive()
        pingTimer = setInterval(() => ws.readyState === WebSocket.OPEN && ws.send('{"type":6}' + RS), 15000)
        continue
      }
      if (message.type === 1) {
        if (message.invocationId) {
          ws.send(JSON.stringify({ type: 3, invocationId: message.invocationId, error: 'The dashboard does not answer server calls.' }) + RS)
        }
        emit({ target: String(message.target), args: Array.isArray(message.arguments) ? message.arguments : [] })
      } else if (message.type === 7) {
        ws.close(1000)
      }
    }
  }
  ws.onclose = () => {
    if (socket === ws) socket = null
    // Negotiated but no WebSocket session: something between us and the hub blocks upgrades.
    if (!handshaken && !stopped) {
      channel = 'sse'
      return connectEvents(token)
    }
    scheduleRetry()
  }
}

/** Server-sent events from the hub-ui plugin (EventSource cannot send headers, hence the query token). @param {string} token */
function connectEvents(token) {
  const es = new EventSource(`/ui/events?access_token=${encodeURIComponent(token)}`)
  socket = es
  es.onmessage = (ev) => {
    let message
    try {
      message = JSON.parse(ev.data)
    } catch {
      return
    }
    if (message.target === 'ready') return wentLive()
    emit({ target: String(message.target), args: Array.isArray(message.arguments) ? message.arguments : [] })
  }
  es.onerror = () => {
    // Our own backoff (and polling meanwhile) instead of EventSource's silent retries.
    es.close()
    if (socket === es) socket = null
    if (!stopped) {
      channel = 'signalr'
      scheduleRetry()
    }
  }
}
