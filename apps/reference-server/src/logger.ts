/**
 * Structured logs: one JSON object per line, `{ time, level, msg, ...fields }`, on stdout.
 * Mementos, app mementos, credentials and secrets are never logged (LL-MEMENTO-7): fields with those
 * names are redacted wherever they appear, as a second line of defence behind not passing them at all.
 */
import type { LogLevel } from './config.js'

export type Fields = Readonly<Record<string, unknown>>

export interface Logger {
  debug(msg: string, fields?: Fields): void
  info(msg: string, fields?: Fields): void
  warn(msg: string, fields?: Fields): void
  error(msg: string, fields?: Fields): void
}

export interface LineSink {
  write(line: string): unknown
}

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 }

const SECRET_KEYS = /^(memento|am|appmemento|auth|authorization|cookie|secret|token|password)$/i

function clean(value: unknown, depth = 0): unknown {
  if (value instanceof Error) return { name: value.name, message: value.message }
  if (value === null || typeof value !== 'object') return value
  if (depth > 4) return '[…]'
  if (Array.isArray(value)) return value.map((item) => clean(item, depth + 1))
  const out: Record<string, unknown> = {}
  for (const [key, item] of Object.entries(value)) {
    out[key] = SECRET_KEYS.test(key) ? '[redacted]' : clean(item, depth + 1)
  }
  return out
}

export function createLogger(level: LogLevel, sink: LineSink = process.stdout): Logger {
  const min = RANK[level]
  const log = (at: Exclude<LogLevel, 'silent'>, msg: string, fields: Fields = {}) => {
    if (RANK[at] < min) return
    const record = { time: new Date().toISOString(), level: at, msg, ...(clean(fields) as object) }
    let line: string
    try {
      line = JSON.stringify(record)
    } catch {
      line = JSON.stringify({ time: record.time, level: at, msg, fields: '[unserialisable]' })
    }
    sink.write(`${line}\n`)
  }
  return {
    debug: (msg, fields) => log('debug', msg, fields),
    info: (msg, fields) => log('info', msg, fields),
    warn: (msg, fields) => log('warn', msg, fields),
    error: (msg, fields) => log('error', msg, fields),
  }
}
