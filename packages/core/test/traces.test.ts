import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Trace } from '@lifeline/protocol/vectors'
import { describe, it } from 'vitest'
import { BothSides, ClientUnderTest, ServerUnderTest } from './harness/modes.js'

const dir = join(import.meta.dirname, '..', '..', '..', 'spec', 'vectors', 'traces')
const traces = readdirSync(dir)
  .filter((name) => name.endsWith('.json'))
  .map((name) => JSON.parse(readFileSync(join(dir, name), 'utf8')) as Trace)

const label = (trace: Trace) => `${trace.name} [${trace.rules.join(', ')}]`

describe('spec/vectors/traces on simulated time', () => {
  describe('client and server together', () => {
    for (const trace of traces.filter((t) => t.checks === undefined)) {
      it(label(trace), () => new BothSides(trace).run())
    }
  })

  describe('the client against a scripted server', () => {
    for (const trace of traces.filter((t) => t.checks !== 'server')) {
      it(label(trace), () => new ClientUnderTest(trace).run())
    }
  })

  describe('the server against scripted clients', () => {
    for (const trace of traces.filter((t) => t.checks !== 'client')) {
      it(label(trace), () => new ServerUnderTest(trace).run())
    }
  })
})
