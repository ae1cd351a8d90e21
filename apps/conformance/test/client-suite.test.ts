/** The client suite against the TypeScript client, through its driver: every client-checked trace passes. */
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { exitCode, formatTable, loadSpec, playedBy, runClientSuite } from '../src/index.js'
import { DRIVER } from './helpers.js'

const spec = loadSpec()

describe('the client suite against the TypeScript driver', () => {
  it('passes every trace the client suite plays', { timeout: 150_000 }, async () => {
    const report = await runClientSuite({ command: [process.execPath, DRIVER], spec, jobs: 4 })
    const table = formatTable(report)
    expect(report.summary.failed, table).toBe(0)
    expect(exitCode(report)).toBe(0)
    const traces = spec.traces.filter((trace) => playedBy(trace, 'client'))
    expect(report.checks.map((check) => check.name)).toEqual(traces.map((trace) => trace.name))
    expect(report.summary).toEqual({ passed: traces.length, failed: 0, notApplicable: 0 })
    // Client-only traces are played here, server-only ones are not.
    expect(report.checks.some((check) => check.name === 'duplicate-entries')).toBe(true)
    expect(report.checks.some((check) => check.name === 'memento-generations')).toBe(false)
    console.log(table)
  })
})

const PYTHON_DRIVER = fileURLToPath(new URL('../../../examples/python-client/driver.py', import.meta.url))

describe('the client suite against the Python client, written from spec/ alone', () => {
  it('passes connect, resume with replay, acks and dedup, kick and bye, and every other client trace', {
    timeout: 150_000,
  }, async () => {
    const report = await runClientSuite({ command: ['python3', PYTHON_DRIVER], spec, jobs: 4 })
    const table = formatTable(report)
    expect(report.summary.failed, table).toBe(0)
    const names = report.checks.map((check) => check.name)
    for (const required of [
      'first-connect',
      'resume-replay',
      'send-resend',
      'send-reject-dedup',
      'kick',
      'client-close',
    ]) {
      expect(names).toContain(required)
    }
    expect(report.summary.passed).toBe(spec.traces.filter((trace) => playedBy(trace, 'client')).length)
    console.log(table)
  })
})
