/**
 * `lifeline-conformance`: the server suite against a server and its control channel, or the client suite
 * against a client driver. Prints a table per rule id; exit status 0, 1 (a check failed) or 2 (usage).
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { parseArgs, USAGE, UsageError } from './args.js'
import { neededCapabilities, runClientSuite } from './client-suite.js'
import { type CheckResult, exitCode, formatJson, formatJunit, formatTable, type Report } from './report.js'
import { SelectionError, select } from './select.js'
import { runServerSuite, vectorChecks } from './server-suite.js'
import { loadSpec, type Spec } from './spec.js'

interface Io {
  out(text: string): void
  err(text: string): void
}

const STATUS: Record<CheckResult['status'], string> = {
  passed: 'pass',
  failed: 'FAIL',
  'not-applicable': 'n/a ',
}

function listing(
  suite: 'server' | 'client',
  spec: Spec,
  rules: readonly string[] | undefined,
  names: readonly string[] | undefined,
): string {
  const selection = select(suite, spec.traces, spec.vectorFiles, { rules, names })
  const lines: string[] = []
  for (const trace of selection.traces) {
    const needs = suite === 'client' ? neededCapabilities(trace) : []
    const note = needs.length > 0 ? ` (needs driver capability ${needs.join(', ')})` : ''
    lines.push(`trace         ${trace.name} [${trace.rules.join(', ')}]${note}`)
  }
  for (const { file, vector } of vectorChecks(selection.vectorFiles)) {
    lines.push(`frame-vector  ${file.name}: ${vector.name} [${(vector.rules ?? []).join(', ')}]`)
  }
  const vectors = vectorChecks(selection.vectorFiles).length
  lines.push('', `${selection.traces.length} traces${suite === 'server' ? `, ${vectors} frame vectors` : ''}`)
  return lines.join('\n')
}

function write(path: string, text: string): void {
  const target = resolve(path)
  mkdirSync(dirname(target), { recursive: true })
  writeFileSync(target, text)
}

export async function main(argv: readonly string[], io: Io): Promise<number> {
  let options: ReturnType<typeof parseArgs>
  let spec: Spec
  try {
    options = parseArgs(argv)
    if (options.help) {
      io.out(`${USAGE}\n`)
      return 0
    }
    spec = loadSpec(options.spec)
    // Unknown trace names or rule ids are usage errors, found before anything runs.
    select(options.suite, spec.traces, spec.vectorFiles, { rules: options.rules, names: options.traces })
  } catch (error) {
    if (error instanceof UsageError || error instanceof SelectionError) {
      io.err(`lifeline-conformance: ${error.message}\n\n${USAGE}\n`)
      return 2
    }
    if (error instanceof Error && /spec folder/.test(error.message)) {
      io.err(`lifeline-conformance: ${error.message}\n`)
      return 2
    }
    throw error
  }
  if (options.list) {
    io.out(`${listing(options.suite, spec, options.rules, options.traces)}\n`)
    return 0
  }
  const onCheck = options.quiet
    ? undefined
    : (result: CheckResult) => {
        // Frame vectors are many and quick: only their failures are worth a line.
        if (result.kind === 'frame-vector' && result.status !== 'failed') return
        io.err(`${STATUS[result.status]}  ${result.name} (${(result.durationMs / 1000).toFixed(1)} s)\n`)
      }
  let report: Report
  if (options.suite === 'server') {
    report = await runServerSuite({
      targets: [
        {
          url: options.url as string,
          control: options.control as string,
          ...(options.socketIo === undefined ? {} : { socketIo: options.socketIo }),
        },
      ],
      spec,
      rules: options.rules,
      traces: options.traces,
      timeoutMs: options.timeoutMs,
      ...(onCheck === undefined ? {} : { onCheck }),
    })
  } else {
    report = await runClientSuite({
      command: options.command,
      transport: options.transport,
      spec,
      rules: options.rules,
      traces: options.traces,
      timeoutMs: options.timeoutMs,
      jobs: options.jobs,
      ...(onCheck === undefined ? {} : { onCheck }),
    })
  }
  io.out(`${formatTable(report)}\n`)
  if (options.json !== undefined) write(options.json, formatJson(report))
  if (options.junit !== undefined) write(options.junit, formatJunit(report))
  return exitCode(report)
}

main(process.argv.slice(2), {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
}).then(
  (code) => {
    process.exitCode = code
  },
  (error: unknown) => {
    process.stderr.write(
      `lifeline-conformance: ${error instanceof Error ? (error.stack ?? error.message) : error}\n`,
    )
    process.exitCode = 1
  },
)
