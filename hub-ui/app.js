// The dashboard's entry: the signed-in shell (navigation, live status, sign out) and a hash router
// that loads each page on demand, so the fleet page's first load stays small.
import { api, clearSession, session, setUnauthorizedHandler } from './lib/api.js'
import { h, replace, toast } from './lib/dom.js'
import { onLiveState, startLive, stopLive } from './lib/live.js'

/**
 * @typedef {{ el: HTMLElement, dispose?: () => void }} View
 * @typedef {{ params: Record<string, string>, query: URLSearchParams, navigate: (hash: string) => void }} RouteContext
 * @typedef {(ctx: RouteContext) => View | Promise<View>} ViewFactory
 */

/** @type {Array<{ pattern: RegExp, keys: string[], nav: string, load: () => Promise<{ default: ViewFactory }> }>} */
const routes = [
  route('/', 'fleet', () => import('./views/fleet.js')),
  route('/nodes/:id', 'fleet', () => import('./views/node.js')),
  route('/stacks', 'stacks', () => import('./views/stacks.js')),
  route('/stacks/new', 'stacks', () => import('./views/stack-deploy.js')),
  route('/stacks/:name', 'stacks', () => import('./views/stack.js')),
  route('/clusters', 'clusters', () => import('./views/clusters.js')),
  route('/clusters/:name', 'clusters', () => import('./views/cluster.js')),
  route('/settings/keys', 'keys', () => import('./views/keys.js')),
  route('/settings/users', 'users', () => import('./views/users.js')),
  route('/audit', 'audit', () => import('./views/audit.js')),
  route('/events', 'events', () => import('./views/events.js')),
  route('/alerts', 'alerts', () => import('./views/alerts.js')),
]

/** @param {string} path @param {string} nav @param {() => Promise<any>} load */
function route(path, nav, load) {
  const keys = /** @type {string[]} */ ([])
  const pattern = new RegExp('^' + path.replace(/:(\w+)/g, (_, k) => (keys.push(k), '([^/]+)')) + '/?$')
  return { pattern, keys, nav, load }
}

// The last column is the least role that may use the page (the hub enforces it; this only hides).
const NAV = [
  ['fleet', '#/', 'Fleet', 'viewer'],
  ['stacks', '#/stacks', 'Stacks', 'viewer'],
  ['clusters', '#/clusters', 'Clusters', 'viewer'],
  ['events', '#/events', 'Events', 'viewer'],
  ['alerts', '#/alerts', 'Alerts', 'viewer'],
  ['keys', '#/settings/keys', 'API keys', 'admin'],
  ['users', '#/settings/users', 'Users', 'admin'],
  ['audit', '#/audit', 'Audit log', 'admin'],
]
const ROLES = ['viewer', 'operator', 'admin', 'owner']

/** The signed-in user's account role; sessions saved before roles existed name it only in `roles`. */
function roleOf(/** @type {import('./lib/api.js').Session | null} */ user) {
  if (user?.role) return user.role
  return ROLES.filter((r) => user?.roles?.includes(r)).at(-1) ?? (user?.roles?.includes('admin') ? 'admin' : 'viewer')
}

const root = /** @type {HTMLElement} */ (document.getElementById('app'))
/** @type {View | undefined} */
let current
/** @type {HTMLElement | undefined} */
let main
/** @type {Map<string, HTMLAnchorElement>} */
const navLinks = new Map()
let renderSeq = 0

/** @param {string} hash */
function navigate(hash) {
  if (location.hash === hash) void render()
  else location.hash = hash
}

function shell() {
  const user = session()
  const rank = ROLES.indexOf(roleOf(user))
  // Controls marked data-needs=<role> hide below that role (app.css); the hub refuses them anyway.
  document.documentElement.dataset.role = roleOf(user)
  const liveBadge = h('span', { class: 'live', 'data-state': 'offline', role: 'status', title: 'Live updates' }, 'offline')
  const signOut = h('button', { type: 'button', class: 'link', onclick: () => void signOutNow() }, 'Sign out')
  const nav = h(
    'nav',
    { class: 'nav', 'aria-label': 'Main' },
    h(
      'ul',
      null,
      NAV.filter(([, , , least]) => ROLES.indexOf(least) <= rank).map(([key, href, label]) => {
        const a = /** @type {HTMLAnchorElement} */ (h('a', { href }, label))
        navLinks.set(key, a)
        return h('li', null, a)
      }),
    ),
  )
  main = h('main', { id: 'main', tabindex: '-1' })
  const header = h(
    'header',
    { class: 'top' },
    h('a', { class: 'brand', href: '#/' }, h('img', { src: document.querySelector('link[rel=icon]')?.getAttribute('href') ?? '', alt: '', width: 24, height: 24 }), 'thresh'),
    nav,
    h('div', { class: 'who' }, liveBadge, h('span', { class: 'user' }, user?.userName ?? ''), h('span', { class: 'badge', 'data-role': roleOf(user), title: 'Your role in this account' }, roleOf(user)), signOut),
  )
  onLiveState((state) => {
    liveBadge.dataset.state = state
    liveBadge.textContent = { live: 'live', polling: 'refreshing', connecting: 'connecting', offline: 'offline' }[state]
    liveBadge.title = state === 'live' ? 'Live updates from the hub' : state === 'polling' ? 'Live channel unavailable; refreshing every few seconds' : 'Not connected'
  })
  replace(root, header, user?.mustChangePassword ? passwordBanner() : null, main)
}

// The first admin signs in with a one-time password printed at first start; nudge them to replace it.
function passwordBanner() {
  const banner = h(
    'div',
    { class: 'banner', role: 'alert' },
    h('strong', null, 'Change your password. '),
    'You signed in with the one-time password this hub printed when it first started. ',
    h('button', { type: 'button', class: 'link', onclick: () => void import('./views/password.js').then((m) => m.default(() => banner.remove())) }, 'Change it now'),
  )
  return banner
}

async function signOutNow() {
  try {
    await api('DELETE', '/api/auth/sessions/current')
  } catch {
    // Signing out locally is what matters; an expired session cannot be deleted anyway.
  }
  clearSession()
  stopLive()
  toast('Signed out.')
  navigate('#/login')
}

async function render() {
  const seq = ++renderSeq
  const [path, search] = (location.hash.slice(1) || '/').split('?')
  current?.dispose?.()
  current = undefined

  // An invitation link opens without a session: the person it was sent to has none yet.
  const invitation = /^\/invite\/([^/]+)$/.exec(path)
  if (invitation) {
    stopLive()
    main = undefined
    const { default: invite } = await import('./views/invite.js')
    if (seq !== renderSeq) return
    current = await invite({ params: { token: decodeURIComponent(invitation[1]) }, query: new URLSearchParams(search), navigate })
    replace(root, current.el)
    ;/** @type {HTMLElement | null} */ (current.el.querySelector('[autofocus]'))?.focus()
    return
  }

  if (path === '/login' || !session()) {
    stopLive()
    main = undefined
    const { default: login } = await import('./views/login.js')
    if (seq !== renderSeq) return
    current = await login({ params: {}, query: new URLSearchParams(search), navigate })
    replace(root, current.el)
    ;/** @type {HTMLElement | null} */ (current.el.querySelector('[autofocus]'))?.focus()
    if (path !== '/login') history.replaceState(null, '', '#/login')
    return
  }

  if (!main || !root.contains(main)) shell()
  startLive(() => session()?.accessToken ?? null)
  const match = routes.map((r) => ({ r, m: r.pattern.exec(path) })).find((x) => x.m)
  for (const [key, a] of navLinks) a.toggleAttribute('aria-current', key === match?.r.nav)
  const target = /** @type {HTMLElement} */ (main)
  if (!match) {
    replace(target, h('h1', null, 'Page not found'), h('p', null, 'There is nothing at this address. ', h('a', { href: '#/' }, 'Go to the fleet.')))
    return
  }
  /** @type {Record<string, string>} */
  const params = {}
  match.r.keys.forEach((k, i) => (params[k] = decodeURIComponent(/** @type {RegExpExecArray} */ (match.m)[i + 1])))
  try {
    const { default: factory } = await match.r.load()
    if (seq !== renderSeq) return
    const view = await factory({ params, query: new URLSearchParams(search), navigate })
    if (seq !== renderSeq) return view.dispose?.()
    current = view
    replace(target, view.el)
    const heading = target.querySelector('h1')
    if (heading) {
      document.title = `${heading.textContent} · thresh hub`
      heading.setAttribute('tabindex', '-1')
      if (document.activeElement === document.body || target.contains(document.activeElement) || document.activeElement?.closest('nav')) heading.focus({ preventScroll: true })
    }
  } catch (error) {
    if (seq !== renderSeq) return
    replace(target, h('h1', null, 'Something went wrong'), h('p', { class: 'error-box', role: 'alert' }, /** @type {Error} */ (error).message))
  }
}

setUnauthorizedHandler(() => {
  clearSession()
  stopLive()
  toast('Your session has ended. Sign in again.', 'error')
  navigate('#/login')
})
addEventListener('hashchange', () => void render())
void render()
