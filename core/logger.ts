// The logger plugins get: consola's interface, tagged per plugin (made outside core, in lib/logger.ts).
import type { ConsolaInstance } from 'consola'

export type Logger = ConsolaInstance

export type LogLevel = 'silent' | 'error' | 'warn' | 'info' | 'debug' | 'trace'
