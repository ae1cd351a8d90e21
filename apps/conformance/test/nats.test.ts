/**
 * The server suite over NATS (LL-NATS-*): the reference server in conformance mode with `--nats`,
 * reached by the suite's clients through a real nats-server, each server on its own prefix.
 */
import { type NatsServer, startNatsServer } from '@lifeline/testkit'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { RunningServer } from '../../reference-server/src/index.js'
import { startServer } from '../../reference-server/src/index.js'
import { formatTable, loadSpec, playedBy, runServerSuite, type ServerTarget } from '../src/index.js'
import { SECRET } from './helpers.js'

const spec = loadSpec()

describe('the server suite over NATS against the reference server', () => {
  let nats: NatsServer
  let servers: RunningServer[] = []
  let targets: ServerTarget[] = []

  beforeAll(async () => {
    nats = await startNatsServer({ jetstream: false })
    const prefixes = ['c1', 'c2', 'c3', 'c4'].map((id) => `lifeline.${id}`)
    servers = await Promise.all(
      prefixes.map((prefix) =>
        startServer(
          {
            port: 0,
            host: '127.0.0.1',
            secret: SECRET,
            logLevel: 'silent',
            conformance: {},
            nats: { servers: [nats.url], replicas: 1, prefix },
          },
          { logSink: { write: () => true }, warnSink: { write: () => true } },
        ),
      ),
    )
    targets = servers.map((server, i) => ({
      url: nats.url,
      nats: { prefix: prefixes[i] as string },
      control: server.controlUrl as string,
    }))
  })

  afterAll(async () => {
    await Promise.all(servers.map((server) => server.close()))
    await nats?.stop()
  })

  it('LL-NATS-1, LL-NATS-2, LL-NATS-5, LL-NATS-7: passes every trace, and every vector NATS can carry', {
    timeout: 150_000,
  }, async () => {
    const report = await runServerSuite({ targets, spec })
    const table = formatTable(report)
    expect(report.summary.failed, table).toBe(0)
    const traces = spec.traces.filter((trace) => playedBy(trace, 'server'))
    const played = report.checks.filter((check) => check.kind === 'trace')
    expect(played.map((check) => check.name)).toEqual(traces.map((trace) => trace.name))
    expect(played.every((check) => check.status === 'passed')).toBe(true)
    for (const id of ['LL-RESUME-2', 'LL-REPLAY-1', 'LL-MEMENTO-5', 'LL-FRAME-3', 'LL-INTENT-1']) {
      expect(report.rules[id]?.status, id).toBe('passed')
    }
    console.info(`conformance over NATS: ${JSON.stringify(report.summary)}`)
  })
})
