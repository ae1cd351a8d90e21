import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { BufferOverflowError, ConnectionClosedError, PublicError, SendRejectedError } from '../src/index.js'
import { settle, world } from './helpers.js'

/** Rejections nobody handled, as Node would crash on them (--unhandled-rejections=throw). */
const unhandled: unknown[] = []
const record = (reason: unknown) => void unhandled.push(reason)

beforeEach(() => {
  unhandled.length = 0
  process.on('unhandledRejection', record)
})
afterEach(() => {
  process.off('unhandledRejection', record)
})

/** Lets Node notice an unhandled rejection: it checks after the microtask queue drains. */
const macrotask = () => new Promise((resolve) => setTimeout(resolve, 0))

describe('LL-CLIENT-5: a fire-and-forget send never crashes the app, and its failure reaches the settled event', () => {
  it('LL-SEND-7: outbox overflow with the reject policy', async () => {
    const w = await world()
    const client = w.client('c', { outbox: { maxMessages: 2, overflow: 'reject' } })
    const failed: Error[] = []
    client.on('settled', (event) => event.error !== undefined && failed.push(event.error))
    for (let i = 0; i < 5; i++) void client.send(i) // never connected: all wait in the outbox
    await settle()
    await macrotask()
    expect(unhandled).toEqual([])
    expect(failed).toHaveLength(3)
    expect(failed.every((error) => error instanceof BufferOverflowError)).toBe(true)
  })

  it('LL-INTENT-1: close() with sends pending', async () => {
    const w = await world()
    const client = w.client('c')
    const failed: string[] = []
    client.on('settled', (event) => event.error !== undefined && failed.push(event.id))
    void client.send('a', { id: 'a' })
    void client.send('b', { id: 'b' })
    void client.join('room')
    client.close()
    await settle()
    await macrotask()
    expect(unhandled).toEqual([])
    expect(failed).toEqual(['a', 'b'])
    // A send after close fails the same way.
    void client.send('c', { id: 'c' })
    await settle()
    await macrotask()
    expect(unhandled).toEqual([])
    expect(failed).toEqual(['a', 'b', 'c'])
  })

  it('LL-SEND-5: a send the server app rejects', async () => {
    const w = await world({
      onMessage: () => {
        throw new PublicError('no')
      },
    })
    const client = w.client('c')
    const failed: Error[] = []
    client.on('settled', (event) => event.error !== undefined && failed.push(event.error))
    client.connect()
    void client.send('x')
    await settle()
    await macrotask()
    expect(unhandled).toEqual([])
    expect(failed[0]).toBeInstanceOf(SendRejectedError)
    client.close()
  })

  it('a send that is awaited still rejects for its caller', async () => {
    const w = await world()
    const client = w.client('c')
    const sent = client.send('a')
    client.close()
    await expect(sent).rejects.toBeInstanceOf(ConnectionClosedError)
  })
})
