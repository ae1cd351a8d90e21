/**
 * LL-WS-2 on a real WebSocket: a message carries one frame or a batch (a JSON array), handled in
 * array order as if the frames came one by one; the server's own batches reach a client intact.
 */
import { silentLogger } from '@lifeline/core'
import { createServer } from '@lifeline/core/server'
import { waitFor } from '@lifeline/testkit'
import { describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { wsServerTransport } from '../src/server.js'
import { onCleanup } from './helpers.js'

type Frame = Record<string, unknown> & { type: string }

async function serve(processed: unknown[]) {
  const transport = wsServerTransport({ port: 0 })
  const server = createServer({
    secret: 'batches-secret-batches-secret-batches',
    logger: silentLogger,
    onMessage: (message) => {
      processed.push(message.data)
    },
  })
  await server.attach(transport)
  onCleanup(() => server.shutdown())
  return `ws://127.0.0.1:${transport.port}/lifeline`
}

/** A raw socket that records every frame it receives, batches flattened, and how many messages. */
async function raw(url: string) {
  const socket = new WebSocket(url)
  onCleanup(() => socket.terminate())
  const frames: Frame[] = []
  let messages = 0
  socket.on('message', (data) => {
    messages++
    const value = JSON.parse(String(data)) as Frame | Frame[]
    frames.push(...(Array.isArray(value) ? value : [value]))
  })
  await new Promise((resolve, reject) => {
    socket.once('open', resolve)
    socket.once('error', reject)
  })
  return {
    socket,
    frames,
    get messages() {
      return messages
    },
  }
}

describe('LL-WS-2: batches over ws', () => {
  it('LL-WS-2: a batch in one WebSocket message is handled in array order, as if the frames came one by one', async () => {
    const processed: unknown[] = []
    const url = await serve(processed)
    const c = await raw(url)
    c.socket.send(JSON.stringify({ type: 'hello', versions: [1], attempt: 0 }))
    await waitFor(() => c.frames.some((f) => f.type === 'welcome'), { what: 'welcome' })
    c.socket.send(
      JSON.stringify([
        { type: 'join', topic: 'room' },
        { type: 'send', seq: 1, id: 'a', data: 'first' },
        { type: 'send', seq: 2, id: 'b', data: 'second' },
      ]),
    )
    await waitFor(() => c.frames.some((f) => f.type === 'joined'), { what: 'joined' })
    c.socket.send(
      JSON.stringify([
        { type: 'leave', topic: 'room' },
        { type: 'send', seq: 3, id: 'c', data: 'third' },
      ]),
    )
    await waitFor(() => processed.length === 3 && c.frames.some((f) => f.type === 'unjoined'), {
      what: 'the batch handled',
    })
    expect(processed).toEqual(['first', 'second', 'third'])
    const answers = c.frames.filter((f) => f.type === 'joined' || f.type === 'unjoined')
    expect(answers.map((f) => f.type)).toEqual(['joined', 'unjoined'])
    await waitFor(() => c.frames.some((f) => f.type === 'ack' && f.seq === 3), { what: 'ack 3' })
  })

  it('LL-WS-2: frames the server has ready at once may come as one batch, and a receiver reads them in order', async () => {
    const url = await serve([])
    const c = await raw(url)
    // hello and join back to back: the join is held until the welcome (LL-HELLO-7), then answered.
    c.socket.send(
      JSON.stringify([
        { type: 'hello', versions: [1], attempt: 0 },
        { type: 'join', topic: 'room' },
      ]),
    )
    await waitFor(() => c.frames.some((f) => f.type === 'joined'), { what: 'joined' })
    expect(c.frames.map((f) => f.type).slice(0, 2)).toEqual(['welcome', 'joined'])
    expect(c.messages).toBeGreaterThanOrEqual(1)
    expect(c.frames.filter((f) => f.type === 'welcome')).toHaveLength(1)
  })

  it('LL-WS-2: a batch of more than 1024 frames is refused whole: none of it is processed', async () => {
    const processed: unknown[] = []
    const url = await serve(processed)
    const c = await raw(url)
    c.socket.send(JSON.stringify({ type: 'hello', versions: [1], attempt: 0 }))
    await waitFor(() => c.frames.some((f) => f.type === 'welcome'), { what: 'welcome' })
    const closed = new Promise<number>((resolve) => c.socket.once('close', (code) => resolve(code)))
    const frames = Array.from({ length: 1025 }, (_, i) => ({
      type: 'send',
      seq: i + 1,
      id: `m${i}`,
      data: i,
    }))
    c.socket.send(JSON.stringify(frames))
    expect(await closed).toBeGreaterThanOrEqual(4000)
    expect(processed).toEqual([])
  })
})
