// The consola logger shared by every plugin, tagged per plugin so each line says who wrote it.
import { createConsola, type ConsolaInstance } from 'consola'

export type Logger = ConsolaInstance

const levels = { silent: -999, error: 0, warn: 1, info: 3, debug: 4, trace: 5 } as const
export type LogLevel = keyof typeof levels

export function createLogger(level: LogLevel = 'info'): Logger {
  return createConsola({ level: levels[level] }).withTag('thresh')
}
