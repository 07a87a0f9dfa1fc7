// Compose variable interpolation: `$VAR`, `${VAR}`, `${VAR:-default}`, `${VAR-default}`,
// `${VAR:?error}`, `${VAR?error}`, `${VAR:+alt}`, `${VAR+alt}` and `$$` for a literal `$`; and the
// `.env` / `env_file` format (KEY=value lines, comments, quotes).

export interface InterpolationResult {
  value: string
  /** Set when a `${VAR:?message}` found its variable missing, or the text is malformed. */
  error?: string
}

const NAME = /^[A-Za-z_][A-Za-z0-9_]*/

/**
 * Replaces the variables in `text` from `vars`.
 * @example
 * interpolate('${DB:-postgres}:$$5432', {}) // { value: 'postgres:$5432' }
 */
export function interpolate(text: string, vars: Readonly<Record<string, string>>): InterpolationResult {
  let out = ''
  let i = 0
  const has = (name: string) => Object.prototype.hasOwnProperty.call(vars, name)
  while (i < text.length) {
    const dollar = text.indexOf('$', i)
    if (dollar < 0) {
      out += text.slice(i)
      break
    }
    out += text.slice(i, dollar)
    const next = text[dollar + 1]
    if (next === '$') {
      out += '$'
      i = dollar + 2
      continue
    }
    if (next === '{') {
      // Find the matching brace: defaults may hold nested `${...}`.
      let depth = 1
      let end = dollar + 2
      while (end < text.length && depth > 0) {
        if (text[end] === '{') depth++
        else if (text[end] === '}') depth--
        if (depth > 0) end++
      }
      if (depth > 0) return { value: text, error: `"${text.slice(dollar, dollar + 40)}" has no closing "}"` }
      const body = text.slice(dollar + 2, end)
      const name = NAME.exec(body)?.[0]
      if (!name) return { value: text, error: `"\${${body}}" is not a valid variable reference` }
      const rest = body.slice(name.length)
      const set = has(name)
      const nonEmpty = set && vars[name] !== ''
      const operator = /^(:?[-?+])/.exec(rest)?.[1]
      if (rest !== '' && !operator) return { value: text, error: `"\${${body}}" is not a valid variable reference` }
      const argument = operator ? rest.slice(operator.length) : ''
      const expand = (t: string) => interpolate(t, vars)
      const ok = operator?.startsWith(':') ? nonEmpty : set
      if (operator === undefined) out += set ? vars[name] : ''
      else if (operator.endsWith('-')) {
        if (ok) out += vars[name]
        else {
          const inner = expand(argument)
          if (inner.error) return inner
          out += inner.value
        }
      } else if (operator.endsWith('?')) {
        if (!ok) {
          const inner = expand(argument)
          return { value: text, error: `${name} is required${inner.value ? `: ${inner.value}` : ` but ${set ? 'empty' : 'not set'}`}` }
        }
        out += vars[name]
      } else {
        if (ok) {
          const inner = expand(argument)
          if (inner.error) return inner
          out += inner.value
        }
      }
      i = end + 1
      continue
    }
    const name = NAME.exec(text.slice(dollar + 1))?.[0]
    if (name) {
      out += has(name) ? vars[name] : ''
      i = dollar + 1 + name.length
      continue
    }
    // A lone `$` (at the end, or before a character no name starts with) stays as it is.
    out += '$'
    i = dollar + 1
  }
  return { value: out }
}

/** The variables of a `.env` or `env_file` text; `KEY` alone (no `=`) is skipped. */
export function parseEnvFile(text: string): { vars: Record<string, string>; errors: Array<{ line: number; message: string }> } {
  const vars: Record<string, string> = Object.create(null)
  const errors: Array<{ line: number; message: string }> = []
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = raw.trim()
    if (line === '' || line.startsWith('#')) return
    const body = line.startsWith('export ') ? line.slice(7).trimStart() : line
    const eq = body.indexOf('=')
    if (eq < 0) return
    const key = body.slice(0, eq).trim()
    if (!/^[A-Za-z_][A-Za-z0-9_.-]*$/.test(key) || key === '__proto__') {
      errors.push({ line: index + 1, message: `"${key.slice(0, 40)}" is not a variable name` })
      return
    }
    let value = body.slice(eq + 1).trim()
    const quote = value[0]
    if ((quote === '"' || quote === "'") && value.length >= 2 && value.endsWith(quote)) {
      value = value.slice(1, -1)
      if (quote === '"') value = value.replace(/\\n/g, '\n').replace(/\\(["\\])/g, '$1')
    } else {
      const comment = value.search(/\s#/)
      if (comment >= 0) value = value.slice(0, comment).trimEnd()
    }
    vars[key] = value
  })
  return { vars, errors }
}

/** Splits a command line as a POSIX shell would split words (quotes and backslashes), without running a shell. */
export function splitCommand(text: string): string[] | string {
  const words: string[] = []
  let word = ''
  let inWord = false
  let quote: '"' | "'" | undefined
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!
    if (quote === "'") {
      if (c === "'") quote = undefined
      else word += c
    } else if (quote === '"') {
      if (c === '"') quote = undefined
      else if (c === '\\' && i + 1 < text.length && '"\\$`'.includes(text[i + 1]!)) word += text[++i]
      else word += c
    } else if (c === "'" || c === '"') {
      quote = c
      inWord = true
    } else if (c === '\\' && i + 1 < text.length) {
      word += text[++i]
      inWord = true
    } else if (/\s/.test(c)) {
      if (inWord) words.push(word)
      word = ''
      inWord = false
    } else {
      word += c
      inWord = true
    }
  }
  if (quote) return `the quote ${quote} is never closed`
  if (inWord) words.push(word)
  return words
}
