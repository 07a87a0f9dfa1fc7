// A small JSON Schema subset: the same object validates request bodies and is published in
// /api/openapi.json, so the docs cannot drift from what the server accepts.
import { childPath, controlCharacterProblem, PROTOTYPE_KEYS } from '../../lib/stack/json-guard.ts'

export interface Schema {
  type?: 'object' | 'string' | 'integer' | 'number' | 'boolean' | 'array'
  description?: string
  properties?: Record<string, Schema>
  required?: string[]
  additionalProperties?: boolean | Schema
  items?: Schema
  maxItems?: number
  enum?: readonly string[]
  minLength?: number
  maxLength?: number
  pattern?: string
  minimum?: number
  maximum?: number
  format?: string
  example?: unknown
  nullable?: boolean
  oneOf?: Schema[]
  /**
   * Free text that may hold tabs and line breaks; every other string refuses all control characters.
   * An OpenAPI extension keyword, so the published document stays valid.
   */
  'x-multiline'?: boolean
}

/** The longest string a schema accepts where it sets no `maxLength` of its own. */
export const DEFAULT_MAX_LENGTH = 4096

const kindOf = (value: unknown) => (value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value)

/** Every problem with `value`, each with its path (`services[0].image: must be a string`). */
export function validate(schema: Schema, value: unknown, path = ''): string[] {
  const at = (p: string) => (p ? `${p}: ` : '')
  const problems: string[] = []
  if (value === null && schema.nullable) return problems
  switch (schema.type) {
    case 'object': {
      if (kindOf(value) !== 'object') return [`${at(path)}must be an object`]
      const record = value as Record<string, unknown>
      for (const key of schema.required ?? []) {
        if (!Object.hasOwn(record, key) || record[key] === undefined) problems.push(`${path ? `${path}.` : ''}${key}: is required`)
      }
      for (const [key, child] of Object.entries(record)) {
        const here = childPath(path, key)
        // `constructor` is not a property of every schema: only what it declares as its own.
        const property = schema.properties && Object.hasOwn(schema.properties, key) ? schema.properties[key] : undefined
        if (PROTOTYPE_KEYS.has(key)) problems.push(`${here}: "${key}" is not allowed as a key`)
        else if (property) problems.push(...validate(property, child, here))
        else if (schema.additionalProperties === false) problems.push(`${here}: is not a known field`)
        else if (typeof schema.additionalProperties === 'object') problems.push(...validate(schema.additionalProperties, child, here))
      }
      return problems
    }
    case 'array': {
      if (!Array.isArray(value)) return [`${at(path)}must be a list`]
      if (schema.maxItems !== undefined && value.length > schema.maxItems) return [`${at(path)}must have at most ${schema.maxItems} entries`]
      if (schema.items) value.forEach((item, i) => problems.push(...validate(schema.items!, item, `${path}[${i}]`)))
      return problems
    }
    case 'string': {
      if (typeof value !== 'string') return [`${at(path)}must be a string`]
      if (schema.minLength !== undefined && value.length < schema.minLength) {
        problems.push(`${at(path)}must not be ${schema.minLength === 1 ? 'empty' : `shorter than ${schema.minLength} characters`}`)
      }
      const maxLength = schema.maxLength ?? DEFAULT_MAX_LENGTH
      if (value.length > maxLength) problems.push(`${at(path)}must be at most ${maxLength} characters`)
      const control = controlCharacterProblem(value, schema['x-multiline'])
      if (control) return [...problems, `${at(path)}${control}`]
      if (schema.enum && !schema.enum.includes(value)) problems.push(`${at(path)}must be one of ${schema.enum.join(', ')}`)
      if (schema.pattern && !new RegExp(schema.pattern).test(value)) problems.push(`${at(path)}${schema.description ? `must be ${schema.description}` : `must match ${schema.pattern}`}`)
      return problems
    }
    case 'integer':
    case 'number': {
      if (typeof value !== 'number' || !Number.isFinite(value) || (schema.type === 'integer' && !Number.isInteger(value))) {
        return [`${at(path)}must be ${schema.type === 'integer' ? 'a whole number' : 'a number'}`]
      }
      if (schema.minimum !== undefined && value < schema.minimum) problems.push(`${at(path)}must be at least ${schema.minimum}`)
      if (schema.maximum !== undefined && value > schema.maximum) problems.push(`${at(path)}must be at most ${schema.maximum}`)
      return problems
    }
    case 'boolean':
      return typeof value === 'boolean' ? [] : [`${at(path)}must be true or false`]
    default:
      return problems
  }
}

export const str = (extra: Omit<Schema, 'type'> = {}): Schema => ({ type: 'string', ...extra })
export const num = (extra: Omit<Schema, 'type'> = {}): Schema => ({ type: 'number', ...extra })
export const int = (extra: Omit<Schema, 'type'> = {}): Schema => ({ type: 'integer', ...extra })
export const bool = (extra: Omit<Schema, 'type'> = {}): Schema => ({ type: 'boolean', ...extra })
export const arr = (items: Schema, extra: Omit<Schema, 'type' | 'items'> = {}): Schema => ({ type: 'array', items, ...extra })
export const obj = (properties: Record<string, Schema>, required: string[] = [], extra: Omit<Schema, 'type' | 'properties' | 'required'> = {}): Schema => ({
  type: 'object',
  properties,
  required,
  additionalProperties: false,
  ...extra,
})
