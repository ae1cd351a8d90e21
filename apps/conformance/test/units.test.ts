/** The pieces without sockets: arguments, selection, the step mapping and the report formats. */
import { describe, expect, it } from 'vitest'
import {
  buildReport,
  controlAction,
  driverCommand,
  formatJunit,
  formatTable,
  loadSpec,
  parseArgs,
  ruleMatcher,
  select,
  UsageError,
} from '../src/index.js'

const spec = loadSpec()

describe('parseArgs', () => {
  it('reads both suites, lists, repeated and comma-separated values', () => {
    expect(
      parseArgs([
        'server',
        'ws://h:1/lifeline',
        '--control=http://h:1/conformance',
        '--rules',
        'LL-RESUME, LL-SEQ-3',
        '--rules=LL-ACK',
        '--timeout',
        '500',
      ]),
    ).toMatchObject({
      suite: 'server',
      url: 'ws://h:1/lifeline',
      control: 'http://h:1/conformance',
      rules: ['LL-RESUME', 'LL-SEQ-3', 'LL-ACK'],
      timeoutMs: 500,
      jobs: 1,
      list: false,
    })
    expect(parseArgs(['client', '--jobs', '4', '--', 'python3', 'driver.py', '--verbose'])).toMatchObject({
      suite: 'client',
      command: ['python3', 'driver.py', '--verbose'],
      jobs: 4,
    })
    // --help after -- belongs to the driver.
    expect(parseArgs(['client', '--', 'driver', '--help'])).toMatchObject({
      help: false,
      command: ['driver', '--help'],
    })
    expect(parseArgs(['client', '--help'])).toEqual({ help: true })
  })

  it('refuses what makes no sense', () => {
    expect(() => parseArgs(['server', 'ws://h/l', '--control', 'http://h/c', '--jobs', '2'])).toThrow(
      UsageError,
    )
    expect(() => parseArgs(['client', '--control', 'http://h/c', '--', 'x'])).toThrow(/for the server suite/)
    expect(() => parseArgs(['client', '--list=yes'])).toThrow(/takes no value/)
    expect(() => parseArgs(['client', '--json', '--', 'x'])).toThrow(/--json needs a value/)
  })
})

describe('selection', () => {
  it('matches full ids exactly and anything else as a prefix', () => {
    const matches = ruleMatcher(['LL-RESUME-1', 'll-seq'])
    expect(matches('LL-RESUME-1')).toBe(true)
    expect(matches('LL-RESUME-10')).toBe(false)
    expect(matches('LL-SEQ-4')).toBe(true)
    expect(matches('LL-SEND-1')).toBe(false)
  })

  it('plays a trace in the suite that checks its side only', () => {
    const server = select('server', spec.traces, spec.vectorFiles, {}).traces.map((trace) => trace.name)
    const client = select('client', spec.traces, spec.vectorFiles, {}).traces.map((trace) => trace.name)
    expect(server).toContain('memento-generations')
    expect(server).not.toContain('backoff-reconnect')
    expect(client).toContain('backoff-reconnect')
    expect(client).not.toContain('memento-generations')
    expect(select('client', spec.traces, spec.vectorFiles, {}).vectorFiles).toEqual([])
  })

  it('selects by rule and name, vectors included', () => {
    const byRule = select('server', spec.traces, spec.vectorFiles, { rules: ['LL-WS-2'] })
    expect(byRule.traces.map((trace) => trace.name)).toEqual(['hello-pipelined'])
    expect(byRule.vectorFiles.map((file) => file.name)).toEqual(['client-batches', 'client-invalid'])
    const byName = select('server', spec.traces, spec.vectorFiles, { names: ['kick', 'client-valid'] })
    expect(byName.traces.map((trace) => trace.name)).toEqual(['kick'])
    expect(byName.vectorFiles.map((file) => file.name)).toEqual(['client-valid'])
  })
})

describe('step mapping', () => {
  it('turns server actions into control-channel actions with session ids', () => {
    const sid = (actor: string) => `s_${actor}`
    expect(controlAction({ action: 'publish', to: 'c1', data: 1, appMemento: { v: 1 } }, sid)).toEqual({
      action: 'publish',
      sid: 's_c1',
      data: 1,
      appMemento: { v: 1 },
    })
    expect(controlAction({ action: 'publish', topic: 'room:1', data: 2 }, sid)).toEqual({
      action: 'publish',
      topic: 'room:1',
      data: 2,
    })
    expect(controlAction({ action: 'kick', client: 'c2', reason: 'bye' }, sid)).toEqual({
      action: 'kick',
      sid: 's_c2',
      reason: 'bye',
    })
    expect(controlAction({ action: 'shutdown', retryAfterMs: 10 }, sid)).toEqual({
      action: 'shutdown',
      retryAfterMs: 10,
    })
  })

  it('turns client actions into driver commands', () => {
    expect(
      driverCommand('c2', { action: 'connect', auth: { token: 'a' }, storageOf: 'c1' }, 'ws://x/c2'),
    ).toEqual({
      cmd: 'connect',
      client: 'c2',
      url: 'ws://x/c2',
      auth: { token: 'a' },
      storageOf: 'c1',
    })
    expect(driverCommand('c1', { action: 'send', data: null, id: 'x' }, '')).toEqual({
      cmd: 'send',
      client: 'c1',
      data: null,
      id: 'x',
    })
    expect(driverCommand('c1', { action: 'close' }, '')).toEqual({ cmd: 'close', client: 'c1' })
  })
})

describe('reports', () => {
  const report = buildReport({
    suite: 'client',
    target: 'node <driver>',
    startedAt: new Date(0),
    durationMs: 1500,
    checks: [
      { kind: 'trace', name: 'a', rules: ['LL-SEQ-1', 'LL-ACK-1'], status: 'passed', durationMs: 10 },
      {
        kind: 'trace',
        name: 'b & <c>',
        rules: ['LL-SEQ-1'],
        status: 'failed',
        problem: 'step 3\n  expected "x"',
        durationMs: 20,
        stderr: 'boom\u0007',
      },
      {
        kind: 'trace',
        name: 'd',
        rules: ['LL-TOPIC-1'],
        status: 'not-applicable',
        problem: 'needs x',
        durationMs: 0,
      },
    ],
  })

  it('sums up per rule', () => {
    expect(report.summary).toEqual({ passed: 1, failed: 1, notApplicable: 1 })
    expect(report.rules['LL-SEQ-1']).toEqual({
      status: 'failed',
      level: 'MUST',
      passed: 1,
      failed: 1,
      notApplicable: 0,
      checks: ['a', 'b & <c>'],
    })
    expect(report.rules['LL-TOPIC-1']?.status).toBe('not-applicable')
    expect(Object.keys(report.rules)).toEqual(['LL-SEQ-1', 'LL-ACK-1', 'LL-TOPIC-1']) // PROTOCOL.md order
  })

  it('renders a table and escapes JUnit XML', () => {
    const table = formatTable(report)
    expect(table).toMatch(/^LL-SEQ-1 +MUST +FAIL +1 +1 +0 +a, b & <c>$/m)
    expect(table).toMatch(
      /^FAILED: 3 checks, 1 passed, 1 failed, 1 not applicable; 3 rules, 1 failed \(1\.5 s\)$/m,
    )
    const xml = formatJunit(report)
    expect(xml).toContain('name="b &amp; &lt;c&gt; [LL-SEQ-1]"')
    expect(xml).toContain('<failure message="step 3" type="trace">step 3\n  expected &quot;x&quot;</failure>')
    expect(xml).toContain('<system-err>boom</system-err>')
    expect(xml).toContain('<skipped message="needs x"/>')
  })
})
