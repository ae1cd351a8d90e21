/** The suite catches a broken server: the reference server with deliberate bugs fails the right rules. */
import { afterAll, describe, expect, it } from 'vitest'
import { exitCode, formatTable, runServerSuite } from '../src/index.js'
import { type ReferenceServers, referenceServers } from './helpers.js'

describe('the server suite against a faulty server', () => {
  const started: ReferenceServers[] = []
  afterAll(async () => {
    await Promise.all(started.map((reference) => reference.close()))
  })

  it('fails LL-REPLAY-1 when a replay delivers a message twice', async () => {
    const reference = await referenceServers(1, { faults: ['duplicate-replay'] })
    started.push(reference)
    const report = await runServerSuite({
      targets: reference.targets,
      traces: ['resume-replay', 'replay-boundary', 'ack-bounds', 'first-connect'],
    })
    const table = formatTable(report)
    expect(exitCode(report), table).toBe(1)
    expect(report.rules['LL-REPLAY-1']?.status, table).toBe('failed')
    const failed = report.checks.filter((check) => check.status === 'failed')
    expect(failed.map((check) => check.name).sort()).toEqual([
      'ack-bounds',
      'replay-boundary',
      'resume-replay',
    ])
    for (const check of failed) expect(check.rules).toContain('LL-REPLAY-1')
    // Nothing is replayed in first-connect: it still passes.
    expect(report.checks.find((check) => check.name === 'first-connect')?.status).toBe('passed')
    expect(report.checks.find((check) => check.name === 'replay-boundary')?.problem).toMatch(/"n":3|"n":2/)
  })

  it('fails LL-MEMENTO-5 when a resume does not rotate the memento', async () => {
    const reference = await referenceServers(1, { faults: ['no-rotate'] })
    started.push(reference)
    const report = await runServerSuite({ targets: reference.targets, rules: ['LL-MEMENTO-5'] })
    const table = formatTable(report)
    expect(exitCode(report), table).toBe(1)
    expect(report.rules['LL-MEMENTO-5']?.status, table).toBe('failed')
    expect(report.checks.find((check) => check.name === 'memento-generations')?.status).toBe('failed')
    // --rules keeps the table to the rules asked for.
    expect(Object.keys(report.rules)).toEqual(['LL-MEMENTO-5'])
  })
})
