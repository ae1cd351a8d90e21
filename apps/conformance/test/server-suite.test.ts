/** The server suite against the reference server in conformance mode: every trace and vector passes. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { exitCode, formatTable, loadSpec, playedBy, runServerSuite, vectorChecks } from '../src/index.js'
import { type ReferenceServers, referenceServers } from './helpers.js'

const spec = loadSpec()
/** The traces sleep through about a minute and a half in all: spread over this many servers. */
const SERVERS = 4

/** Vectors the suite cannot send as they are over WebSocket: their own maxBytes, or an array outside batch mode. */
const notApplicable = vectorChecks(spec.vectorFiles.filter((file) => file.direction === 'client')).filter(
  ({ vector }) =>
    vector.maxBytes !== undefined ||
    (vector.batch !== true && vector.text.trim().startsWith('[') && vector.text.trim() !== '[]'),
)

describe('the server suite against the reference server', () => {
  let reference: ReferenceServers

  beforeAll(async () => {
    reference = await referenceServers(SERVERS)
  })

  afterAll(async () => {
    await reference?.close()
  })

  it('passes every trace and every frame vector', { timeout: 150_000 }, async () => {
    const report = await runServerSuite({ targets: reference.targets, spec })
    const table = formatTable(report)
    expect(report.summary.failed, table).toBe(0)
    expect(exitCode(report)).toBe(0)

    const traces = spec.traces.filter((trace) => playedBy(trace, 'server'))
    const vectors = vectorChecks(spec.vectorFiles.filter((file) => file.direction === 'client'))
    const played = report.checks.filter((check) => check.kind === 'trace')
    expect(played.map((check) => check.name)).toEqual(traces.map((trace) => trace.name))
    expect(played.every((check) => check.status === 'passed')).toBe(true)
    expect(report.checks.filter((check) => check.kind === 'frame-vector')).toHaveLength(vectors.length)
    expect(report.summary).toEqual({
      passed: traces.length + vectors.length - notApplicable.length,
      failed: 0,
      notApplicable: notApplicable.length,
    })
    // Client-only traces are the client suite's.
    expect(played.some((check) => check.name === 'duplicate-entries')).toBe(false)
    for (const id of ['LL-RESUME-2', 'LL-REPLAY-1', 'LL-MEMENTO-5', 'LL-FRAME-3', 'LL-WS-2']) {
      expect(report.rules[id]?.status, id).toBe('passed')
    }
    console.log(table)
  })
})
