/**
 * Where the library says what an app should hear about: a missing secret, a failing hook or store.
 * Shaped like most loggers (console, pino, winston), so one can be passed as is.
 */
export type LogFields = Readonly<Record<string, unknown>>

export interface Logger {
  warn(message: string, fields?: LogFields): void
  error(message: string, fields?: LogFields): void
}

/** The default: `console.warn` and `console.error`, prefixed `[lifeline]`. */
export const consoleLogger: Logger = {
  warn: (message, fields) => console.warn(`[lifeline] ${message}`, ...(fields === undefined ? [] : [fields])),
  error: (message, fields) =>
    console.error(`[lifeline] ${message}`, ...(fields === undefined ? [] : [fields])),
}

/** Says nothing: for tests, or when the app reports through events instead. */
export const silentLogger: Logger = {
  warn: () => {},
  error: () => {},
}
