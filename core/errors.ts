// Errors that carry a machine-readable code, the plugin they came from and a cause; they render as
// `[thresh] [plugin] sentence` and map to an HTTP status at the edge.

export interface ThreshErrorOptions {
  code: string
  message: string
  plugin?: string
  /** HTTP status when the error reaches the API edge (default 500). */
  status?: number
  cause?: unknown
  /** Extra, non-secret details safe to show to a user (e.g. a list of validation problems). */
  details?: unknown
}

export class ThreshError extends Error {
  readonly code: string
  readonly plugin: string | undefined
  readonly status: number
  readonly details: unknown

  constructor(options: ThreshErrorOptions) {
    super(options.message, options.cause === undefined ? undefined : { cause: options.cause })
    this.name = 'ThreshError'
    this.code = options.code
    this.plugin = options.plugin
    this.status = options.status ?? 500
    this.details = options.details
  }

  /** The one-line form users see: `[thresh] [plugin] sentence`. */
  override toString(): string {
    return `[thresh]${this.plugin ? ` [${this.plugin}]` : ''} ${this.message}`
  }
}

export function isThreshError(error: unknown): error is ThreshError {
  return error instanceof ThreshError
}

/** The sentence to show a user for any thrown value, without a stack trace. */
export function describeError(error: unknown): string {
  if (error instanceof ThreshError) return error.toString()
  if (error instanceof AggregateError) return error.errors.map(describeError).join('; ')
  if (error instanceof Error) return `[thresh] ${error.message}`
  return `[thresh] ${String(error)}`
}
