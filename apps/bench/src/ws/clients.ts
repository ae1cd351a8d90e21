/**
 * The client sides, run in a peer process (see framework/peer.ts): many Lifeline or raw ws clients,
 * counting what they receive. Exported functions are called by the bench process; state lives here.
 */
import {
  type ClientEnvironment,
  createClient,
  type EnvironmentHandlers,
  type LifelineClient,
} from '@lifeline/core'
import { wsTransport } from '@lifeline/ws/node'
import WebSocket from 'ws'
import { arrived, countArrived, resetCount, waitForCount } from '../framework/counter.js'

const lifelines: LifelineClient[] = []
const raws: WebSocket[] = []
/** Every socket a Lifeline client opened and has not seen close, to cut them all at once. */
const live = new Set<WebSocket>()
/** While shut, new Lifeline sockets dial a port nobody listens on: the network is down. */
let gateShut = false
let gateOpenedAt = 0

const count = countArrived
/** Node has no network signals; this one lets the bench say "the network is back" (LL-BEAT-4). */
const networks: EnvironmentHandlers[] = []
const environment: ClientEnvironment = {
  isOnline: () => true,
  subscribe: (handlers) => {
    networks.push(handlers)
    return () => networks.splice(networks.indexOf(handlers), 1)
  },
}

class TrackedWebSocket extends WebSocket {
  constructor(url: string, protocols?: string | string[]) {
    super(gateShut ? 'ws://127.0.0.1:9/down' : url, protocols, {
      perMessageDeflate: false,
      maxPayload: 1 << 20,
    })
    if (!gateShut && gateOpenedAt === 0) gateOpenedAt = performance.now()
    live.add(this)
    this.once('close', () => live.delete(this))
  }
}

export interface LifelineArgs {
  readonly url: string
  readonly count: number
  /** Joined by every client before this returns. */
  readonly topic?: string
  readonly name?: string
  readonly outbox?: number
}

/** Connects `count` Lifeline clients (each its own subject); returns their session ids. */
export async function lifeline(args: LifelineArgs): Promise<string[]> {
  const batch: Promise<string>[] = []
  for (let i = 0; i < args.count; i++) {
    const client = createClient({
      transport: wsTransport(args.url, { WebSocket: TrackedWebSocket }),
      environment,
      auth: `${args.name ?? 'user'}-${lifelines.length}`,
      ...(args.outbox === undefined ? {} : { outbox: { maxMessages: args.outbox, maxBytes: 1 << 30 } }),
    })
    lifelines.push(client)
    client.on('message', () => count(1))
    const opened = new Promise<string>((resolve) => {
      const off = client.on('status', (status) => {
        if (status.type !== 'open') return
        off()
        resolve(client.sid as string)
      })
    })
    client.connect()
    batch.push(
      args.topic === undefined
        ? opened
        : opened.then(async (sid) => {
            await client.join(args.topic as string)
            return sid
          }),
    )
    // Dial in slices, so thousands of clients do not all wait on one accept queue.
    if (batch.length % 200 === 0) await Promise.all(batch)
  }
  return Promise.all(batch)
}

/** Connects `count` raw ws clients; each parses what it receives, as an app would. */
export async function raw(args: { url: string; count: number }): Promise<number> {
  const opening: Promise<void>[] = []
  for (let i = 0; i < args.count; i++) {
    const socket = new WebSocket(args.url, { perMessageDeflate: false })
    raws.push(socket)
    socket.on('message', (data) => {
      const parsed: unknown = JSON.parse(data.toString())
      count(Array.isArray(parsed) ? parsed.length : 1)
    })
    opening.push(new Promise((resolve) => socket.once('open', () => resolve())))
    if (opening.length % 200 === 0) await Promise.all(opening)
  }
  await Promise.all(opening)
  return raws.length
}

export function reset(): number {
  gateOpenedAt = 0
  return resetCount()
}

/** Resolves with the count once at least `total` messages arrived since the last reset. */
export function expect(args: { total: number; timeoutMs?: number }): Promise<number> {
  return waitForCount(args.total, args.timeoutMs)
}

/** Milliseconds from the first dial after the gate opened until now (replay timing). */
export function sinceReconnect(): number {
  return gateOpenedAt === 0 ? Number.NaN : performance.now() - gateOpenedAt
}

/** Cuts every Lifeline socket without a close frame, as a network failure would. */
export function drop(): number {
  const sockets = [...live]
  for (const socket of sockets) socket.terminate()
  return sockets.length
}

export function gate(args: { open: boolean }): void {
  gateShut = !args.open
}

/** Opens the gate and tells every client the network is back, so each dials at once. */
export function online(): void {
  gateShut = false
  for (const handlers of [...networks]) handlers.online()
}

/** How many clients are open and how many of those resumed with everything recovered. */
export function sessions(): { open: number; recovered: number; resumed: number } {
  let open = 0
  let recovered = 0
  let resumed = 0
  for (const client of lifelines) {
    const status = client.status
    if (status.type !== 'open') continue
    open++
    if (status.resumed) resumed++
    if (status.recovered) recovered++
  }
  return { open, recovered, resumed }
}

/** Lifeline: the first client sends `count` messages; resolves when every one was acked. */
export async function send(args: { count: number; window?: number }): Promise<void> {
  const client = lifelines[0]
  if (client === undefined) throw new Error('no client')
  const payload = { text: 'the quick brown fox jumps over the lazy dog', n: 0 }
  if (args.window === undefined) {
    const all: Promise<void>[] = new Array(args.count)
    for (let i = 0; i < args.count; i++) all[i] = client.send({ ...payload, n: i })
    await Promise.all(all)
    return
  }
  // Awaiting each send, `window` at a time: how an app that wants every ack would write it.
  let next = 0
  const worker = async () => {
    while (next < args.count) await client.send({ ...payload, n: next++ })
  }
  await Promise.all(Array.from({ length: args.window }, worker))
}

/** Raw ws: the first socket sends `count` messages, one each or batched per tick as JSON arrays. */
export async function rawSend(args: { count: number; batched: boolean }): Promise<void> {
  const socket = raws[0]
  if (socket === undefined) throw new Error('no socket')
  const batch: string[] = []
  for (let i = 0; i < args.count; i++) {
    const text = JSON.stringify({ text: 'the quick brown fox jumps over the lazy dog', n: i })
    if (!args.batched) socket.send(text)
    else {
      batch.push(text)
      if (batch.length === 1024) socket.send(`[${batch.splice(0).join(',')}]`)
    }
  }
  if (batch.length > 0) socket.send(`[${batch.join(',')}]`)
}

export function close(): void {
  for (const client of lifelines.splice(0)) client.close()
  for (const socket of raws.splice(0)) socket.terminate()
}

/** Every client joins the topic at once; resolves when every join was answered. */
export async function joinAll(args: { topic: string }): Promise<void> {
  await Promise.all(lifelines.map((client) => client.join(args.topic)))
}

/**
 * After `online`: the replay's time, from the first dial to the `total`-th message; NaN when not all
 * of them came (the session was not recovered), with how many did.
 */
export async function replayed(args: {
  total: number
  timeoutMs: number
}): Promise<{ ms: number; received: number }> {
  try {
    await waitForCount(args.total, args.timeoutMs)
    return { ms: sinceReconnect(), received: arrived() }
  } catch {
    return { ms: Number.NaN, received: arrived() }
  }
}
