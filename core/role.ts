// A role is a preset: a named list of plugins, loaded lazily, and its own defaults for their settings.
import type { ConfigFields, ConfigSource, ThreshConfig } from './config.ts'
import type { PluginFactory } from './plugin.ts'

export interface RolePlugin {
  /** The name `disable` refers to. */
  name: string
  load: () => Promise<PluginFactory>
}

/** One plugin out of several (storage), picked from the settings a first pass resolved. */
export interface RoleChoice {
  /** The family's name, which `disable` refers to ('storage'). */
  name: string
  /** Every candidate, so their settings are known before the choice is made. */
  from: Record<string, () => Promise<PluginFactory>>
  choose: (config: Readonly<ThreshConfig>) => string
}

export interface RoleDefinition {
  name: string
  description: string
  /** Default port when neither config, env nor flags set one. */
  port: number
  plugins: (RolePlugin | RoleChoice)[]
  /** Settings that pick plugins rather than belong to one (`storage`). */
  fields?: ConfigFields
  /** The role's own defaults for any setting (the agent listens on loopback). */
  defaults?: Record<string, unknown>
  /** Config layers under the config file, read at each start (the agent's agent.json). */
  layers?: (dataDir: string) => ConfigSource[]
}

export const isRoleChoice = (entry: RolePlugin | RoleChoice): entry is RoleChoice => 'from' in entry

/** Types a role preset; adds nothing at run time. */
export function defineRole(role: RoleDefinition): RoleDefinition {
  return role
}
