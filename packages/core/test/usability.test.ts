/** What a newcomer hits first: a server without a secret, options from the environment, a send before connect. */
import { describe, expect, it } from 'vitest'
import { createClient, type LogFields, type Logger } from '../src/index.js'
import { createServer } from '../src/server.js'
import { FakeNetwork, SimulatedClock } from '../src/testing.js'
import { settle, world } from './helpers.js'

function recordingLogger(): Logger & { readonly warnings: string[] } {
  const warnings: string[] = []
  return {
    warnings,
    warn: (message: string, _fields?: LogFields | undefined) => void warnings.push(message),
    error: () => {},
  }
}

describe('createServer without a secret', () => {
  it('warns once through the logger that mementos will not survive a restart', async () => {
    const logger = recordingLogger()
    const server = createServer({ logger })
    expect(server.usesGeneratedSecret).toBe(true)
    expect(logger.warnings).toHaveLength(1)
    expect(logger.warnings[0]).toMatch(/no secret configured.*restart/)
    await server.shutdown()
  })

  it('says nothing when a secret or keys are given', async () => {
    const logger = recordingLogger()
    const withSecret = createServer({ secret: 's'.repeat(32), logger })
    const withKeys = createServer({ keys: { k2: 'k'.repeat(32) }, currentKeyId: 'k2', logger })
    expect(logger.warnings).toEqual([])
    await withSecret.shutdown()
    await withKeys.shutdown()
  })

  it('takes `secret: process.env.X` under exactOptionalPropertyTypes (unset: generated, with the warning)', async () => {
    const logger = recordingLogger()
    // The point is the type check (tsc runs on this file): an env value is `string | undefined`.
    const server = createServer({
      secret: process.env.LIFELINE_SECRET_UNSET_IN_TESTS,
      graceMs: undefined,
      logger,
    })
    expect(server.usesGeneratedSecret).toBe(true)
    expect(logger.warnings).toHaveLength(1)
    await server.shutdown()
  })
})

describe('send() before connect()', () => {
  it('is queued with status idle and pending counting it, the logger says so once, and it goes out after connect()', async () => {
    const processed: unknown[] = []
    const w = await world({ onMessage: (message) => void processed.push(message.data) })
    const logger = recordingLogger()
    const client = w.client('c1', { logger })
    const first = client.send('one')
    const second = client.send('two')
    expect(client.status).toEqual({ type: 'idle' })
    expect(client.pending).toBe(2)
    expect(logger.warnings).toEqual(['send() before connect(): queued until client.connect() is called'])
    await settle()
    expect(processed).toEqual([])
    client.connect()
    await Promise.all([first, second])
    expect(processed).toEqual(['one', 'two'])
    expect(logger.warnings).toHaveLength(1)
    client.close()
  })

  it('a send after connect() while the network is down is queued without a warning', async () => {
    const clock = new SimulatedClock()
    const network = new FakeNetwork(clock)
    const logger = recordingLogger()
    const client = createClient({ transport: network.client('c1'), clock, random: () => 0.5, logger })
    client.connect()
    const pending = client.send('offline')
    expect(client.pending).toBe(1)
    expect(logger.warnings).toEqual([])
    client.close()
    await expect(pending).rejects.toMatchObject({ name: 'ConnectionClosedError' })
  })
})
