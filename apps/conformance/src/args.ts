/** The command line of `lifeline-conformance`, parsed without touching the process. */

export class UsageError extends Error {
  override readonly name = 'UsageError'
}

export const USAGE = `Usage:
  lifeline-conformance server <ws-url> --control <http-url> [options]
  lifeline-conformance client [options] -- <driver command...>

  server   plays the clients of spec/vectors against a Lifeline server; the server runs the test
           application and serves the test-server control channel at <http-url>
  client   plays the server against a Lifeline client, run by a driver program speaking the driver
           protocol on stdin/stdout (spec/conformance.md)

Options:
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

const VALUED = new Set(['rules', 'traces', 'json', 'junit', 'timeout', 'jobs', 'spec', 'control'])
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
  let url: string | undefined
  let control: string | undefined
  if (suite === 'server') {
    if (positional.length > 1) throw new UsageError(`one server URL, got ${positional.join(' ')}`)
    if (command.length > 0) throw new UsageError('the server suite takes no driver command')
    if (values.has('jobs')) throw new UsageError('--jobs is for the client suite')
    url = positional[0] === undefined ? undefined : wsUrl(positional[0])
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
