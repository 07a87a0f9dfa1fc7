// Limits every JSON value a client sends (hub request bodies, stack definitions) must keep before any
// other code reads it: nesting depth, no prototype-named keys, no control characters. Browser-safe.

/** Deeper values are refused: nothing people write nests this far, and recursive readers stay safe. */
export const MAX_JSON_DEPTH = 32

/** Keys that name an object's prototype machinery: never a field, a service or a variable name. */
export const PROTOTYPE_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype'])

export interface JsonProblem {
  path: string
  message: string
}

// C0 controls and DEL. Tab, newline and carriage return are the ones multi-line text may hold.
const CONTROL = /[\u0000-\u001f\u007f]/
const CONTROL_BUT_WHITESPACE = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/

const codePoint = (char: string) => `U+${char.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`

/**
 * Why `text` cannot be used, or undefined: it holds a control character (tab, newline and carriage
 * return pass when `multiline`).
 * @example
 * controlCharacterProblem('web\u0000') // 'must not contain control characters (U+0000 at position 4)'
 */
export function controlCharacterProblem(text: string, multiline = false): string | undefined {
  const match = (multiline ? CONTROL_BUT_WHITESPACE : CONTROL).exec(text)
  return match ? `must not contain control characters (${codePoint(match[0])} at position ${match.index + 1})` : undefined
}

/** Text as it may appear quoted in a message: at most `max` characters, controls escaped. */
export function clip(text: string, max = 60): string {
  const shown = text.length > max ? `${text.slice(0, max)}…` : text
  return shown.replace(/[\u0000-\u001f\u007f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
}

/** `services.api.env.A`, `services[0]`; a key that is not a plain word is quoted: `env["a b"]`. */
export function childPath(parent: string, key: string | number): string {
  if (typeof key === 'number') return `${parent}[${key}]`
  if (/^[A-Za-z0-9_$][\w$-]*$/.test(key)) return parent ? `${parent}.${key}` : key
  return `${parent}["${clip(key, 100).replace(/"/g, '\\"')}"]`
}

/** Longer strings are refused wherever no tighter limit applies (a PEM bundle in an env value fits). */
export const MAX_STRING_LENGTH = 16 * 1024

/**
 * The first problems (at most `maxProblems`) in a parsed JSON value: nesting deeper than
 * `maxDepth`, a prototype-named key, a control character in a key, a control character other than
 * tab, newline and carriage return in a string, a string longer than `maxStringLength`.
 * Iterative, so no input can overflow the stack.
 */
export function scanJson(value: unknown, options: { maxDepth?: number; maxProblems?: number; maxStringLength?: number } = {}): JsonProblem[] {
  const maxDepth = options.maxDepth ?? MAX_JSON_DEPTH
  const maxProblems = options.maxProblems ?? 20
  const maxStringLength = options.maxStringLength ?? MAX_STRING_LENGTH
  const problems: JsonProblem[] = []
  const pending: Array<{ value: unknown; path: string; depth: number }> = [{ value, path: '', depth: 0 }]
  while (pending.length > 0 && problems.length < maxProblems) {
    const { value: item, path, depth } = pending.pop()!
    if (typeof item === 'string') {
      const problem = item.length > maxStringLength ? `is longer than ${maxStringLength} characters` : controlCharacterProblem(item, true)
      if (problem) problems.push({ path, message: `The text ${problem}` })
      continue
    }
    if (typeof item !== 'object' || item === null) continue
    if (depth >= maxDepth) {
      problems.push({ path, message: `Nesting is deeper than ${maxDepth} levels` })
      continue
    }
    const children: Array<[string | number, unknown]> = Array.isArray(item) ? item.map((v, i) => [i, v]) : Object.entries(item)
    for (let i = children.length - 1; i >= 0; i--) {
      const [key, child] = children[i]!
      const here = childPath(path, key)
      if (typeof key === 'string') {
        if (PROTOTYPE_KEYS.has(key)) {
          problems.push({ path: here, message: `"${key}" is not allowed as a key` })
          continue
        }
        const problem = key.length > 256 ? 'is longer than 256 characters' : controlCharacterProblem(key)
        if (problem) {
          problems.push({ path: here, message: `The key ${problem}` })
          continue
        }
      }
      pending.push({ value: child, path: here, depth: depth + 1 })
    }
  }
  return problems
}
