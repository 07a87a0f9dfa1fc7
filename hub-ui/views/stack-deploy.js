// Deploy a stack: paste or upload a JSON definition or a compose file, see every validation problem next
// to the field before anything is sent (the same lib/stack validator the hub runs; compose files are
// converted by the hub, POST /api/stacks/convert), pick node, cluster or auto.
import { api, ApiError, asList, enc } from '../lib/api.js'
import { field, h, replace, toast } from '../lib/dom.js'
import { toCluster, toNode } from '../lib/model.js'

const EXAMPLE = `{
  "name": "webapp",
  "services": {
    "db": {
      "image": "docker:postgres:16-alpine",
      "volumes": ["pgdata:/var/lib/postgresql/data"],
      "env": { "POSTGRES_PASSWORD": "change-me" },
      "ports": ["5432:5432"]
    },
    "web": {
      "image": "docker:nginx:alpine",
      "ports": ["8080:80"],
      "depends_on": ["db"],
      "env": { "DATABASE_URL": "postgres://postgres:change-me@\${db.host}:\${db.port}/postgres" }
    }
  }
}`

/**
 * @typedef {{ path: string, message: string }} Problem
 * @typedef {{ parseStack: (input: string) => { ok: true, stack: any } | { ok: false, errors: Problem[] } }} StackModule
 * @typedef {{ dependencyLevels: (nodes: string[], edges: Map<string, string[]>) => string[][] }} GraphModule
 */

/** @returns {Promise<[StackModule, GraphModule] | null>} */
async function loadValidator() {
  if (document.body.dataset.validator === 'missing') return null
  try {
    // Served by the hub-ui plugin from lib/stack's browser build, next to the views.
    const dir = '../stack/'
    return /** @type {any} */ (await Promise.all([import(dir + 'parse.js'), import(dir + 'graph.js')]))
  } catch {
    return null
  }
}

/** @type {import('../app.js').ViewFactory} */
export default async function deployPage({ query, navigate }) {
  const [validator, nodesData, clustersData] = await Promise.all([
    loadValidator(),
    api('GET', '/api/nodes').catch(() => []),
    api('GET', '/api/clusters').catch(() => []),
  ])
  const nodes = asList(nodesData, 'nodes').map(toNode).sort((a, b) => a.name.localeCompare(b.name))
  const clusters = asList(clustersData, 'clusters').map(toCluster)

  const definition = field({
    label: 'Stack definition (JSON or compose.yaml)',
    control: h('textarea', { name: 'definition', spellcheck: 'false', autocomplete: 'off', rows: 18, placeholder: EXAMPLE }),
    hint: validator
      ? 'Paste a definition (services as a map or a list) or a compose file. Problems are listed here as you type; nothing is deployed until it is valid.'
      : 'Paste a definition (services as a map or a list) or a compose file. The hub validates it when you deploy.',
  })
  const textarea = /** @type {HTMLTextAreaElement} */ (definition.control)
  const upload = /** @type {HTMLInputElement} */ (h('input', { type: 'file', id: 'stack-file', accept: '.json,.yaml,.yml,application/json,application/yaml' }))
  const ignoreUnsupported = /** @type {HTMLInputElement} */ (h('input', { type: 'checkbox', name: 'ignoreUnsupported' }))
  ignoreUnsupported.addEventListener('change', () => validate())
  upload.addEventListener('change', async () => {
    const file = upload.files?.[0]
    if (!file) return
    textarea.value = await file.text()
    validate()
    textarea.focus()
  })

  const mode = (/** @type {string} */ value, /** @type {string} */ label) =>
    h('label', null, h('input', { type: 'radio', name: 'target', value, checked: value === 'auto' || undefined }), label)
  const nodeSelect = field({
    label: 'Node',
    control: h('select', { name: 'targetNode', disabled: true }, nodes.map((n) => h('option', { value: n.name || n.id }, `${n.name}${n.status === 'online' ? '' : ' (offline)'}`))),
  })
  const clusterSelect = field({
    label: 'Cluster',
    control: h('select', { name: 'targetCluster', disabled: true }, clusters.map((c) => h('option', { value: c.name }, c.name))),
  })
  const targetError = h('div', { class: 'field-error', role: 'alert', hidden: true })
  // On by default here: a deploy from the dashboard that fails leaves the stack as it was (or, the first time, nothing).
  const rollback = /** @type {HTMLInputElement} */ (h('input', { type: 'checkbox', id: 'rollback', name: 'rollback', checked: true }))
  const targetSet = h(
    'fieldset',
    null,
    h('legend', null, 'Where to run it'),
    h('div', { class: 'radios' }, mode('auto', 'Let the hub choose'), nodes.length ? mode('node', 'A node') : null, clusters.length ? mode('cluster', 'A cluster') : null),
    nodeSelect.el,
    clusterSelect.el,
    targetError,
    h('div', { class: 'check' }, rollback, h('label', { for: 'rollback' }, 'Roll back if any service fails (a first deploy leaves nothing behind)')),
  )
  const syncTarget = () => {
    const value = /** @type {HTMLInputElement | null} */ (targetSet.querySelector('input[name=target]:checked'))?.value ?? 'auto'
    nodeSelect.el.hidden = value !== 'node'
    clusterSelect.el.hidden = value !== 'cluster'
    nodeSelect.control.toggleAttribute('disabled', value !== 'node')
    clusterSelect.control.toggleAttribute('disabled', value !== 'cluster')
    return value
  }
  targetSet.addEventListener('change', syncTarget)
  const preset = query.get('node')
  if (preset && nodes.some((n) => n.id === preset || n.name === preset)) {
    const radio = /** @type {HTMLInputElement | null} */ (targetSet.querySelector('input[value=node]'))
    if (radio) radio.checked = true
    ;/** @type {HTMLSelectElement} */ (nodeSelect.control).value = nodes.find((n) => n.id === preset || n.name === preset)?.name ?? preset
  }
  syncTarget()

  const preview = h('div', { class: 'preview', 'aria-live': 'polite' }, h('p', { class: 'muted' }, 'The start order appears here once the definition is valid.'))
  const submit = h('button', { type: 'submit', class: 'primary' }, 'Deploy')

  /** A compose file rather than thresh's JSON: anything that does not start as a JSON object. */
  const isCompose = (/** @type {string} */ text) => !text.startsWith('{')
  /** @type {{ text: string, ignore: boolean, body: any }} */
  let converted = { text: '', ignore: false, body: null }

  /** Shows the start order (and any conversion warnings) of a valid stack. */
  function showPreview(/** @type {any} */ stack, /** @type {Problem[]} */ warnings = []) {
    const levels = validator
      ? validator[1].dependencyLevels(
          stack.services.map((/** @type {any} */ s) => s.name),
          new Map(stack.services.map((/** @type {any} */ s) => [s.name, s.dependsOn])),
        )
      : [stack.services.map((/** @type {any} */ s) => s.name)]
    replace(
      preview,
      h('p', null, h('strong', null, stack.name), ` · ${stack.services.length} service${stack.services.length === 1 ? '' : 's'}${stack.traefik ? ' · Traefik' : ''}`),
      h('p', { class: 'muted small' }, 'Start order (each step starts together):'),
      h('ol', null, levels.map((level) => h('li', null, level.join(', ')))),
      warnings.length ? h('ul', { class: 'muted small', 'aria-label': 'Warnings' }, warnings.map((w) => h('li', null, describeProblem(w)))) : null,
    )
  }
  const describeProblem = (/** @type {any} */ p) =>
    typeof p === 'string' ? p : `${p.path ? `${p.path}${p.line ? ` (line ${p.line})` : ''}: ` : ''}${p.message}`

  /** Converts compose text through the hub; resolves to the definition to send, or null after showing the problems. */
  async function convertCompose(/** @type {string} */ text) {
    const ignore = ignoreUnsupported.checked
    if (converted.text === text && converted.ignore === ignore && converted.body) return converted.body
    try {
      const result = await api('POST', '/api/stacks/convert', { compose: text, ...(ignore ? { ignoreUnsupported: true } : {}) })
      if (textarea.value.trim() !== text) return null
      definition.setError(null)
      converted = { text, ignore, body: result.definition }
      const parsed = validator ? /** @type {any} */ (validator[0].parseStack(result.definition)) : null
      if (parsed?.ok) showPreview(parsed.stack, asList(result, 'warnings'))
      else replace(preview, h('p', null, h('strong', null, result.definition.name), ' · converted from compose'))
      return result.definition
    } catch (err) {
      if (textarea.value.trim() !== text) return null
      const error = /** @type {ApiError} */ (err)
      const details = asList(error.body, 'details')
      definition.setError(details.length ? details.map(describeProblem) : error.message)
      replace(preview, h('p', { class: 'muted' }, `${details.length || 1} problem${details.length > 1 ? 's' : ''} to fix before deploying.`))
      return null
    }
  }

  /** Validates locally (compose through the hub); returns the definition to send, or null after showing the problems. */
  function validate() {
    const text = textarea.value.trim()
    if (!text) {
      definition.setError(null)
      replace(preview, h('p', { class: 'muted' }, 'The start order appears here once the definition is valid.'))
      return null
    }
    if (isCompose(text)) return convertCompose(text)
    if (!validator) {
      try {
        definition.setError(null)
        return JSON.parse(text)
      } catch (e) {
        definition.setError(`Invalid JSON: ${/** @type {Error} */ (e).message}`)
        return null
      }
    }
    const result = /** @type {any} */ (validator[0].parseStack(text))
    if (!result.ok) {
      definition.setError(result.errors.map((e) => (e.path ? `${e.path}: ${e.message}` : e.message)))
      replace(preview, h('p', { class: 'muted' }, `${result.errors.length} problem${result.errors.length === 1 ? '' : 's'} to fix before deploying.`))
      return null
    }
    definition.setError(null)
    showPreview(result.stack)
    return JSON.parse(text)
  }
  let typing = 0
  textarea.addEventListener('input', () => {
    clearTimeout(typing)
    typing = window.setTimeout(validate, 200)
  })
  // Tab inserts two spaces in the editor; Escape then Tab leaves it, as keyboard users expect.
  let escaped = false
  textarea.addEventListener('keydown', (e) => {
    if (e.key === 'Escape') escaped = true
    else if (e.key === 'Tab' && !e.shiftKey && !escaped) {
      e.preventDefault()
      textarea.setRangeText('  ', textarea.selectionStart, textarea.selectionEnd, 'end')
    } else escaped = false
  })

  const form = h(
    'form',
    {
      novalidate: true,
      'aria-label': 'Deploy a stack',
      onsubmit: async (/** @type {SubmitEvent} */ e) => {
        e.preventDefault()
        clearTimeout(typing)
        targetError.hidden = true
        if (!textarea.value.trim()) {
          definition.setError('Paste or upload a stack definition.')
          return textarea.focus()
        }
        const valid = await validate()
        if (!valid) return textarea.focus()
        const body = { ...valid }
        const target = syncTarget()
        if (target === 'node') {
          body.targetNode = /** @type {HTMLSelectElement} */ (nodeSelect.control).value
          delete body.targetCluster
        } else if (target === 'cluster') {
          body.targetCluster = /** @type {HTMLSelectElement} */ (clusterSelect.control).value
          delete body.targetNode
        }
        submit.setAttribute('disabled', '')
        submit.textContent = 'Deploying…'
        try {
          const result = await api('POST', `/api/stacks/deploy?rollback=${rollback.checked}`, body)
          const name = result?.name ?? result?.stack?.name ?? body.name
          toast(`Stack ${name} is deploying.`)
          navigate(`#/stacks/${enc(name)}`)
        } catch (err) {
          const error = /** @type {ApiError} */ (err)
          const details = asList(error.body, 'errors', 'problems', 'details')
          if (details.length) definition.setError(details.map((d) => (d.path ? `${d.path}: ${d.message}` : String(d.message ?? d))))
          else if (/node|cluster|target/i.test(error.message) && error.status !== 400) {
            targetError.textContent = error.message
            targetError.hidden = false
          } else definition.setError(error.message)
          ;(details.length || targetError.hidden ? textarea : targetSet).focus()
        } finally {
          submit.removeAttribute('disabled')
          submit.textContent = 'Deploy'
        }
      },
    },
    h(
      'div',
      { class: 'deploy-grid' },
      h(
        'div',
        null,
        definition.el,
        h('div', { class: 'field' }, h('label', { for: 'stack-file' }, 'Or upload a JSON or compose file'), upload),
        h('div', { class: 'field' }, h('label', null, ignoreUnsupported, ' Leave out compose keys thresh does not support (listed as warnings)')),
      ),
      h('div', null, targetSet, h('section', { class: 'panel', 'aria-labelledby': 'preview-title' }, h('h2', { id: 'preview-title' }, 'Preview'), preview), h('div', { class: 'actions', style: undefined }, submit)),
    ),
  )
  return {
    el: h('section', { class: 'page' }, h('div', { class: 'crumbs' }, h('a', { href: '#/stacks' }, 'Stacks'), ' / '), h('div', { class: 'page-head' }, h('h1', null, 'Deploy a stack')), form),
    dispose: () => clearTimeout(typing),
  }
}
