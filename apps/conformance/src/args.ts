/** The command line of `lifeline-conformance`, parsed without touching the process. */

export class UsageError extends Error {
  override readonly name = 'UsageError'
}

export const USAGE = `Usage:
  lifeline-conformance server <ws-url> --control <http-url> [options]
  lifeline-conformance server <http-origin> --transport socket.io --control <http-url> [options]
  lifeline-conformance client [--transport socket.io] [options] -- <driver command...>

  server   plays the clients of spec/vectors against a Lifeline server; the server runs the test
           application and serves the test-server control channel at <http-url>
  client   plays the server against a Lifeline client, run by a driver program speaking the driver
           protocol on stdin/stdout (spec/conformance.md)

Options:
  --transport <t>    ws (default) or socket.io: the server suite dials Socket.IO at <http-origin>; the
                     client suite's scripted server speaks Socket.IO and gives the driver an endpoint
                     descriptor (LL-SIO-5; the driver needs the socket.io capability)
  --path <p>         server suite over Socket.IO: the Socket.IO path (default /socket.io/)
  --namespace <n>    server suite over Socket.IO: the namespace (default /lifeline)
  --event <e>        server suite over Socket.IO: the event name (default lifeline)
  --rules <ids>      only checks naming these rule ids or prefixes, e.g. LL-RESUME,LL-SEQ-3
  --traces <names>   only these traces (server suite: also frame vector files, e.g. client-invalid)
  --json <file>      write the report as JSON
  --junit <file>     write the report as JUnit XML
  --timeout <ms>     how long to wait for an expected frame or event (default 2000)
  --jobs <n>         client suite: traces played at the same time, each with its own driver (default 1)
  --spec <dir>       the spec folder (default: the repository's spec/)
  --list             print the checks that would run, and exit
  --quiet            no progress lines on stderr
  --help             this text

Exit status: 0 when every selected check passed (or did not apply), 1 when one failed, 2 on usage errors.`

export interface CliOptions {
  readonly suite: 'server' | 'client'
  readonly transport: 'ws' | 'socket.io'
  /** Server suite over Socket.IO: path, namespace and event (LL-SIO-4 defaults). */
  readonly socketIo: { readonly path: string; readonly namespace: string; readonly event: string } | undefined
  readonly url: string | undefined
  readonly control: string | undefined
  readonly command: readonly string[]
  readonly rules: readonly string[] | undefined
  readonly traces: readonly string[] | undefined
  readonly json: string | undefined
  readonly junit: string | undefined
  readonly timeoutMs: number
  readonly jobs: number
  readonly spec: string | undefined
  readonly list: boolean
  readonly quiet: boolean
}

export type ParsedArgs = { readonly help: true } | ({ readonly help: false } & CliOptions)

const VALUED = new Set([
  'rules',
  'traces',
  'json',
  'junit',
  'timeout',
  'jobs',
  'spec',
  'control',
  'transport',
  'path',
  'namespace',
  'event',
])
const FLAGS = new Set(['list', 'quiet', 'help'])

function list(value: string): string[] {
  return value
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '')
}

function positiveInteger(value: string, name: string): number {
  if (!/^\d+$/.test(value.trim()) || Number(value) < 1) {
    throw new UsageError(`--${name} must be a positive whole number, got ${JSON.stringify(value)}`)
  }
  return Number(value)
}

function wsUrl(value: string): string {
  let url: URL
  try {
    url = new URL(value)
  } catch {
    throw new UsageError(`${JSON.stringify(value)} is not a URL like ws://127.0.0.1:9000/lifeline`)
  }
  if (url.protocol !== 'ws:' && url.protocol !== 'wss:') {
    throw new UsageError(`the server URL must be ws:// or wss://, got ${JSON.stringify(value)}`)
  }
  return value
}

/** LL-SIO-5: a Socket.IO server is named by its origin; the namespace is its own option. */
function originUrl(value: string): string {
  let url: URL
  try {
    url = new URL(value)
  } catch {
    throw new UsageError(`${JSON.stringify(value)} is not an origin like http://127.0.0.1:9000`)
  }
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.pathname !== '/' || url.search !== '') {
    throw new UsageError(
      `over Socket.IO the server URL is an http(s) origin without a path (give --namespace), got ${JSON.stringify(value)}`,
    )
  }
  return url.origin
}

function httpUrl(value: string): string {
  let url: URL
  try {
    url = new URL(value)
  } catch {
    throw new UsageError(
      `--control ${JSON.stringify(value)} is not a URL like http://127.0.0.1:9000/conformance`,
    )
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UsageError(`--control must be http:// or https://, got ${JSON.stringify(value)}`)
  }
  return value
}

export function parseArgs(argv: readonly string[]): ParsedArgs {
  if (argv.includes('--help') || argv.includes('-h')) {
    const dash = argv.indexOf('--')
    const help = argv.findIndex((arg) => arg === '--help' || arg === '-h')
    if (dash === -1 || help < dash) return { help: true }
  }
  const [suite, ...rest] = argv
  if (suite === undefined) throw new UsageError('say which suite: server or client')
  if (suite !== 'server' && suite !== 'client') {
    throw new UsageError(`unknown suite ${JSON.stringify(suite)}: server or client`)
  }
  const values = new Map<string, string[]>()
  const flags = new Set<string>()
  const positional: string[] = []
  let command: string[] = []
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i] as string
    if (arg === '--') {
      command = rest.slice(i + 1)
      break
    }
    if (!arg.startsWith('--')) {
      positional.push(arg)
      continue
    }
    const eq = arg.indexOf('=')
    const name = eq === -1 ? arg.slice(2) : arg.slice(2, eq)
    if (FLAGS.has(name)) {
      if (eq !== -1) throw new UsageError(`--${name} takes no value`)
      flags.add(name)
      continue
    }
    if (!VALUED.has(name)) throw new UsageError(`unknown option --${name}`)
    let value: string | undefined
    if (eq !== -1) value = arg.slice(eq + 1)
    else {
      value = rest[i + 1]
      if (value === undefined || value.startsWith('--')) throw new UsageError(`--${name} needs a value`)
      i++
    }
    values.set(name, [...(values.get(name) ?? []), value])
  }
  const last = (name: string) => values.get(name)?.at(-1)
  const many = (name: string) => {
    const all = values.get(name)
    return all === undefined ? undefined : all.flatMap(list)
  }
  const listing = flags.has('list')
  const transport = last('transport') ?? 'ws'
  if (transport !== 'ws' && transport !== 'socket.io') {
    throw new UsageError(`--transport is ws or socket.io, got ${JSON.stringify(transport)}`)
  }
  for (const name of ['path', 'namespace', 'event']) {
    if (values.has(name) && (transport !== 'socket.io' || suite !== 'server')) {
      throw new UsageError(`--${name} is for the server suite over Socket.IO (--transport socket.io)`)
    }
  }
  const namespace = last('namespace') ?? '/lifeline'
  if (!namespace.startsWith('/'))
    throw new UsageError(`--namespace must start with /, got ${JSON.stringify(namespace)}`)
  const socketIo =
    transport === 'socket.io' && suite === 'server'
      ? { path: last('path') ?? '/socket.io/', namespace, event: last('event') ?? 'lifeline' }
      : undefined
  let url: string | undefined
  let control: string | undefined
  if (suite === 'server') {
    if (positional.length > 1) throw new UsageError(`one server URL, got ${positional.join(' ')}`)
    if (command.length > 0) throw new UsageError('the server suite takes no driver command')
    if (values.has('jobs')) throw new UsageError('--jobs is for the client suite')
    const given = positional[0]
    url = given === undefined ? undefined : transport === 'ws' ? wsUrl(given) : originUrl(given)
    const controlValue = last('control')
    control = controlValue === undefined ? undefined : httpUrl(controlValue)
    if (!listing && url === undefined)
      throw new UsageError('the server suite needs the server URL, e.g. ws://127.0.0.1:9000/lifeline')
    if (!listing && control === undefined) throw new UsageError('the server suite needs --control <http-url>')
  } else {
    if (positional.length > 0) {
      throw new UsageError(`unexpected ${JSON.stringify(positional[0])}: the driver command goes after --`)
    }
    if (values.has('control')) throw new UsageError('--control is for the server suite')
    if (!listing && command.length === 0)
      throw new UsageError('the client suite needs a driver command after --')
  }
  const rules = many('rules')
  const traces = many('traces')
  const timeout = last('timeout')
  const jobs = last('jobs')
  return {
    help: false,
    suite,
    transport,
    socketIo,
    url,
    control,
    command,
    rules: rules === undefined || rules.length === 0 ? undefined : rules,
    traces: traces === undefined || traces.length === 0 ? undefined : traces,
    json: last('json'),
    junit: last('junit'),
    timeoutMs: timeout === undefined ? 2000 : positiveInteger(timeout, 'timeout'),
    jobs: jobs === undefined ? 1 : positiveInteger(jobs, 'jobs'),
    spec: last('spec'),
    list: listing,
    quiet: flags.has('quiet'),
  }
}
