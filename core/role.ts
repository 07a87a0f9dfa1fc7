// A role is a preset: a named list of plugins, loaded lazily, plus config fields and defaults.
import type { ConfigFields, ThreshConfig } from './config.ts'
import type { PluginFactory } from './plugin.ts'

export interface RolePlugin {
  /** The name `disable` refers to (for a choice such as storage, the family: 'storage'). */
  name: string
  /** Loads the factory; gets the resolved config so a role can pick an implementation (storage). */
  load: (config: ThreshConfig) => Promise<PluginFactory>
}

export interface RoleDefinition {
  name: string
  description: string
  /** Default port when neither config, env nor flags set one. */
  port: number
  plugins: RolePlugin[]
  /** Role-specific config fields, validated like the common ones. */
  fields?: ConfigFields
  /** Defaults over the fields' own defaults (e.g. the agent listens on loopback). */
  defaults?: Record<string, unknown>
}

/** Types a role preset; adds nothing at run time. */
export function defineRole(role: RoleDefinition): RoleDefinition {
  return role
}
