// Stack definitions: parse, validate, plan and resolve (runtime-neutral), the text forms of ports and
// volumes, plus the contracts of a stack runtime and of the proxy that routes its services.
export { parseStack } from './parse.ts'
export { containerPortKey, describePort, describeVolume, formatPort, formatVolume, hostPortKey, parsePort, parseVolume } from './text-forms.ts'
export { planStack, resolveEnv, resolveStack, serviceConfigHash, objectPrefix, objectName, legacyObjectName, ACCOUNT_NAME, LABELS, DEFAULT_ACCOUNT } from './plan.ts'
export type { PlanOptions, PlannedService, PlannedVolume, StackPlan } from './plan.ts'
export { findCycles, dependencyLevels } from './graph.ts'
export { configHash, stableStringify } from './hash.ts'
export { locateJsonError } from './json-location.ts'
export type { Healthcheck, ParseResult, PortMapping, StackDefinition, StackProblem, StackService, VolumeMount } from './types.ts'
export type {
  DeployDiff,
  ProgressEvent,
  RuntimeCallOptions,
  ServiceState,
  ServiceStatus,
  StackRuntime,
  StackState,
  StackStatus,
} from './runtime-contract.ts'
export { isBlueGreen, isRouted, PROXY_KINDS, routedPort, routeRule } from './proxy-contract.ts'
export type { ProxyKind, StackProxy } from './proxy-contract.ts'
