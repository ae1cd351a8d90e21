/**
 * Both suites over Socket.IO (LL-SIO-*): the server suite against the reference server's Socket.IO
 * endpoint, the client suite's scripted Socket.IO server against the TypeScript client.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { formatTable, loadSpec, parseArgs, playedBy, runClientSuite, runServerSuite } from '../src/index.js'
import { DRIVER, type ReferenceServers, referenceServers } from './helpers.js'

const spec = loadSpec()

describe('the server suite over Socket.IO against the reference server', () => {
  let reference: ReferenceServers

  beforeAll(async () => {
    reference = await referenceServers(4, {}, 'socket.io')
  })

  afterAll(async () => {
    await reference?.close()
  })

  it('LL-SIO-1, LL-SIO-3, LL-SIO-4: passes every trace, and every vector Socket.IO can carry', {
    timeout: 150_000,
  }, async () => {
    const report = await runServerSuite({ targets: reference.targets, spec })
    const table = formatTable(report)
    expect(report.summary.failed, table).toBe(0)
    const traces = spec.traces.filter((trace) => playedBy(trace, 'server'))
    const played = report.checks.filter((check) => check.kind === 'trace')
    expect(played.map((check) => check.name)).toEqual(traces.map((trace) => trace.name))
    expect(played.every((check) => check.status === 'passed')).toBe(true)
    // What is not applicable is said why: batches, non-objects, and vectors with their own maxBytes.
    const reasons = new Set(
      report.checks.filter((check) => check.status === 'not-applicable').map((c) => c.problem),
    )
    for (const reason of reasons) expect(reason).toMatch(/LL-SIO-1|LL-SIO-6|maxBytes/)
    for (const id of ['LL-RESUME-2', 'LL-REPLAY-1', 'LL-MEMENTO-5', 'LL-FRAME-3', 'LL-INTENT-1']) {
      expect(report.rules[id]?.status, id).toBe('passed')
    }
  })
})

describe('the client suite over Socket.IO against the TypeScript client', () => {
  it('LL-SIO-5, LL-SIO-8, LL-SIO-9: passes every trace the client suite plays, given endpoint descriptors', {
    timeout: 150_000,
  }, async () => {
    const report = await runClientSuite({
      command: [process.execPath, DRIVER],
      spec,
      jobs: 4,
      transport: 'socket.io',
    })
    const table = formatTable(report)
    expect(report.summary.failed, table).toBe(0)
    const traces = spec.traces.filter((trace) => playedBy(trace, 'client'))
    expect(report.summary).toEqual({ passed: traces.length, failed: 0, notApplicable: 0 })
  })

  it('a driver without the socket.io capability is told the traces do not apply, not failed', {
    timeout: 30_000,
  }, async () => {
    const report = await runClientSuite({
      command: [
        process.execPath,
        '-e',
        "console.log(JSON.stringify({event:'ready',name:'ws only',capabilities:[]}));setInterval(()=>{},1000)",
      ],
      spec,
      traces: ['first-connect'],
      transport: 'socket.io',
    })
    expect(report.summary).toEqual({ passed: 0, failed: 0, notApplicable: 1 })
  })
})

describe('the command line over Socket.IO', () => {
  it('LL-SIO-5: takes an origin and the descriptor values, and refuses a URL with a path', () => {
    const parsed = parseArgs([
      'server',
      'http://127.0.0.1:9000',
      '--transport',
      'socket.io',
      '--control',
      'http://127.0.0.1:9000/conformance',
      '--namespace',
      '/',
      '--event',
      'll',
    ])
    expect(parsed).toMatchObject({
      transport: 'socket.io',
      url: 'http://127.0.0.1:9000',
      socketIo: { path: '/socket.io/', namespace: '/', event: 'll' },
    })
    expect(() =>
      parseArgs([
        'server',
        'http://127.0.0.1:9000/lifeline',
        '--transport',
        'socket.io',
        '--control',
        'http://x/c',
      ]),
    ).toThrow(/without a path/)
    expect(() =>
      parseArgs(['server', 'ws://127.0.0.1:9000/lifeline', '--control', 'http://x/c', '--event', 'x']),
    ).toThrow(/--event is for/)
  })
})
