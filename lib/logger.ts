// The consola logger shared by every plugin, tagged per plugin so each line says who wrote it.
import { createConsola } from 'consola'
import type { Logger, LogLevel } from '../core/index.ts'

const levels: Record<LogLevel, number> = { silent: -999, error: 0, warn: 1, info: 3, debug: 4, trace: 5 }

export function createLogger(level: LogLevel = 'info'): Logger {
  return createConsola({ level: levels[level] }).withTag('thresh')
}
