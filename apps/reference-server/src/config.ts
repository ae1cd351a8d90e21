/**
 * Configuration from command-line flags and environment variables; a flag wins over its variable.
 * `parseConfig` is pure: it reads only its arguments, so it is unit-tested without touching the process.
 */
import { fileURLToPath } from 'node:url'
import type { ConformanceOptions } from './conformance.js'

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error', 'silent'] as const
export type LogLevel = (typeof LOG_LEVELS)[number]

export interface Config {
  readonly port: number
  readonly host: string
  /** Grace period after a drop (LL-GRACE-1). */
  readonly graceMs: number
  /** Heartbeat interval (LL-BEAT-1). */
  readonly heartbeatMs: number
  /** Extra silence before a link is dead (LL-BEAT-3). */
  readonly heartbeatTimeoutMs: number
  /** Memento signing secret, at least 32 bytes; undefined: a random one per process. */
  readonly secret: string | undefined
  /** Origins allowed to open a WebSocket (LL-WS-4); undefined: every origin. */
  readonly allowedOrigins: readonly string[] | undefined
  /** The built demo to serve at `/`. */
  readonly demoDir: string
  readonly logLevel: LogLevel
  /**
   * Conformance mode (tests only): the test application of spec/vectors instead of the chat, and the
   * test-server control channel at /conformance (spec/conformance.md). `true` or options; off when
   * undefined or false.
   */
  readonly conformance?: ConformanceOptions | boolean | undefined
  /**
   * Run as one node of a cluster on NATS (`--nats nats://…`): sessions, logs and topics in JetStream,
   * so any node resumes any session, and Lifeline over NATS for NATS clients. Undefined: one process,
   * memory store.
   */
  readonly nats?: NatsConfig | undefined
}

export interface NatsConfig {
  /** NATS server URLs (every node's, to fail over). */
  readonly servers: readonly string[]
  /** Replicas of the JetStream streams: 1 on one nats-server, 3 on a cluster. */
  readonly replicas: number
  /** Subject prefix of Lifeline over NATS (LL-NATS-1); `lifeline.u.*` serves one per user (LL-NATS-9). */
  readonly prefix: string
}

export type Env = Readonly<Record<string, string | undefined>>

/** A configuration the user got wrong; the message says which setting and why. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError'
}

export const MIN_SECRET_BYTES = 32

/** The built demo, `apps/demo/dist`, seen from `src/` (tests) or `dist/` (the built server) alike. */
export function defaultDemoDir(moduleUrl: string = import.meta.url): string {
  return fileURLToPath(new URL('../../demo/dist', moduleUrl))
}

interface Setting {
  readonly flag: string
  readonly env: string | undefined
  readonly describe: string
}

const SETTINGS = {
  port: { flag: 'port', env: 'PORT', describe: 'TCP port, 0 for any free port (default 8080)' },
  host: { flag: 'host', env: 'HOST', describe: 'interface to listen on (default 127.0.0.1)' },
  graceMs: {
    flag: 'grace-ms',
    env: 'GRACE_MS',
    describe: 'grace period after a drop (default 30000: short enough to watch in the demo)',
  },
  heartbeatMs: { flag: 'heartbeat-ms', env: 'HEARTBEAT_MS', describe: 'heartbeat interval (default 25000)' },
  heartbeatTimeoutMs: {
    flag: 'heartbeat-timeout-ms',
    env: 'HEARTBEAT_TIMEOUT_MS',
    describe: 'silence after a missed heartbeat before a link is dead (default 10000)',
  },
  secret: {
    flag: 'secret',
    env: 'LIFELINE_SECRET',
    describe: 'memento signing secret, >= 32 bytes (default: random, lost on restart)',
  },
  allowedOrigins: {
    flag: 'origins',
    env: 'ALLOWED_ORIGINS',
    describe: 'comma-separated origins allowed to connect (default: any)',
  },
  demoDir: {
    flag: 'demo-dir',
    env: 'DEMO_DIR',
    describe: 'directory of the built demo (default: apps/demo/dist)',
  },
  nats: {
    flag: 'nats',
    env: 'NATS_URL',
    describe: 'NATS URL(s), comma-separated: run as one node of a cluster (JetStream store)',
  },
  natsReplicas: {
    flag: 'nats-replicas',
    env: 'NATS_REPLICAS',
    describe: 'JetStream replicas: 1, 3 or 5 (default 1)',
  },
  natsPrefix: {
    flag: 'nats-prefix',
    env: 'NATS_PREFIX',
    describe: 'subject prefix over NATS (default lifeline)',
  },
  logLevel: { flag: 'log-level', env: 'LOG_LEVEL', describe: `${LOG_LEVELS.join('|')} (default info)` },
  conformance: {
    flag: 'conformance',
    env: 'CONFORMANCE',
    describe: 'tests only: run the test application and serve the control channel at /conformance',
  },
} satisfies Record<keyof Config | 'natsReplicas' | 'natsPrefix', Setting>

type Key = keyof typeof SETTINGS

const BY_FLAG = new Map<string, Key>(Object.entries(SETTINGS).map(([key, s]) => [s.flag, key as Key]))
/** Flags that take no value: present means on (`--conformance`, or `--conformance=false` to say off). */
const SWITCHES = new Set<Key>(['conformance'])

export function usage(): string {
  const lines = Object.entries(SETTINGS).map(([key, s]) => {
    const left = `  --${s.flag}${SWITCHES.has(key as Key) ? '' : ' <value>'}`.padEnd(32)
    return `${left}${s.describe}${s.env === undefined ? '' : ` [env ${s.env}]`}`
  })
  return ['Usage: lifeline-server [options]', '', ...lines, `  ${'--help'.padEnd(30)}this text`].join('\n')
}

/** True when the arguments ask for help rather than a server. */
export function wantsHelp(argv: readonly string[]): boolean {
  return argv.includes('--help') || argv.includes('-h')
}

function readFlags(argv: readonly string[]): Map<Key, string> {
  const values = new Map<Key, string>()
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string
    if (!arg.startsWith('--')) throw new ConfigError(`unexpected argument ${JSON.stringify(arg)}`)
    const eq = arg.indexOf('=')
    const name = eq === -1 ? arg.slice(2) : arg.slice(2, eq)
    const key = BY_FLAG.get(name)
    if (key === undefined) throw new ConfigError(`unknown option --${name} (see --help)`)
    let value: string | undefined
    if (eq !== -1) value = arg.slice(eq + 1)
    else if (SWITCHES.has(key)) value = 'true'
    else {
      value = argv[i + 1]
      if (value === undefined || value.startsWith('--')) throw new ConfigError(`--${name} needs a value`)
      i++
    }
    values.set(key, value)
  }
  return values
}

function label(key: Key, fromFlag: boolean): string {
  const setting: Setting = SETTINGS[key]
  return fromFlag || setting.env === undefined ? `--${setting.flag}` : setting.env
}

function integer(raw: string, name: string, min: number, max: number): number {
  const text = raw.trim()
  if (!/^\d+$/.test(text)) throw new ConfigError(`${name} must be a whole number, got ${JSON.stringify(raw)}`)
  const value = Number(text)
  if (value < min || value > max)
    throw new ConfigError(`${name} must be between ${min} and ${max}, got ${value}`)
  return value
}

function origins(raw: string, name: string): readonly string[] {
  const list = raw
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '')
  if (list.length === 0) throw new ConfigError(`${name} lists no origin`)
  return list.map((item) => {
    let url: URL
    try {
      url = new URL(item)
    } catch {
      throw new ConfigError(`${name}: ${JSON.stringify(item)} is not an origin like https://example.com`)
    }
    if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.origin !== item.replace(/\/$/, '')) {
      throw new ConfigError(`${name}: ${JSON.stringify(item)} is not an origin like https://example.com`)
    }
    return url.origin
  })
}

const DAY_MS = 24 * 60 * 60 * 1000

function onOff(raw: string, name: string): boolean {
  const text = raw.trim().toLowerCase()
  if (['1', 'true', 'yes', 'on'].includes(text)) return true
  if (['0', 'false', 'no', 'off'].includes(text)) return false
  throw new ConfigError(`${name} must be true or false, got ${JSON.stringify(raw)}`)
}

/**
 * Reads the configuration. Flags (`--port 8080` or `--port=8080`) win over environment variables.
 * Throws ConfigError with a message naming the setting when a value is invalid.
 */
export function parseConfig(
  argv: readonly string[],
  env: Env,
  options: { readonly moduleUrl?: string } = {},
): Config {
  const flags = readFlags(argv)
  const read = (key: Key): { value: string; name: string } | undefined => {
    const flag = flags.get(key)
    if (flag !== undefined) return { value: flag, name: label(key, true) }
    const envName = SETTINGS[key].env
    const fromEnv = envName === undefined ? undefined : env[envName]
    if (fromEnv === undefined || fromEnv === '') return undefined
    return { value: fromEnv, name: label(key, false) }
  }
  const int = (key: Key, fallback: number, min: number, max: number): number => {
    const raw = read(key)
    return raw === undefined ? fallback : integer(raw.value, raw.name, min, max)
  }

  const hostRaw = read('host')
  const host = hostRaw === undefined ? '127.0.0.1' : hostRaw.value.trim()
  if (host === '' || /\s/.test(host))
    throw new ConfigError(`${hostRaw?.name ?? 'host'} must be a host name or address`)

  const secretRaw = read('secret')
  if (secretRaw !== undefined && Buffer.byteLength(secretRaw.value, 'utf8') < MIN_SECRET_BYTES) {
    throw new ConfigError(`${secretRaw.name} must be at least ${MIN_SECRET_BYTES} bytes long`)
  }

  const originsRaw = read('allowedOrigins')
  const demoRaw = read('demoDir')
  if (demoRaw !== undefined && demoRaw.value.trim() === '') throw new ConfigError(`${demoRaw.name} is empty`)

  const levelRaw = read('logLevel')
  const level = levelRaw?.value.trim().toLowerCase() ?? 'info'
  if (!(LOG_LEVELS as readonly string[]).includes(level)) {
    throw new ConfigError(`${levelRaw?.name ?? 'log level'} must be one of ${LOG_LEVELS.join(', ')}`)
  }

  const heartbeatMs = int('heartbeatMs', 25_000, 100, DAY_MS)
  const conformanceRaw = read('conformance')
  const conformance = conformanceRaw !== undefined && onOff(conformanceRaw.value, conformanceRaw.name)
  return {
    port: int('port', 8080, 0, 65_535),
    host,
    graceMs: int('graceMs', 30_000, 0, 7 * DAY_MS),
    heartbeatMs,
    heartbeatTimeoutMs: int('heartbeatTimeoutMs', 10_000, 100, DAY_MS),
    secret: secretRaw?.value,
    allowedOrigins: originsRaw === undefined ? undefined : origins(originsRaw.value, originsRaw.name),
    demoDir: demoRaw === undefined ? defaultDemoDir(options.moduleUrl) : demoRaw.value,
    logLevel: level as LogLevel,
    // Left undefined when off, so configurations compare equal with or without the mode's key.
    conformance: conformance ? {} : undefined,
    nats: natsConfig(
      read('nats'),
      int('natsReplicas', 1, 1, 5),
      read('natsPrefix')?.value.trim() ?? 'lifeline',
    ),
  }
}

function natsConfig(
  raw: { value: string; name: string } | undefined,
  replicas: number,
  prefix: string,
): NatsConfig | undefined {
  if (raw === undefined) return undefined
  const servers = raw.value
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '')
  if (servers.length === 0) throw new ConfigError(`${raw.name} lists no NATS server`)
  for (const server of servers) {
    if (!/^(nats|tls|ws|wss):\/\/[^\s]+$/.test(server) && !/^[^\s:/]+:\d+$/.test(server))
      throw new ConfigError(
        `${raw.name}: ${JSON.stringify(server)} is not a NATS URL like nats://127.0.0.1:4222`,
      )
  }
  if (![1, 3, 5].includes(replicas)) throw new ConfigError(`NATS replicas must be 1, 3 or 5, got ${replicas}`)
  if (!/^[A-Za-z0-9_-]+(\.([A-Za-z0-9_-]+|\*))*$/.test(prefix))
    throw new ConfigError(
      `NATS prefix must be subject tokens like lifeline or lifeline.u.*, got ${JSON.stringify(prefix)}`,
    )
  return { servers, replicas, prefix }
}
