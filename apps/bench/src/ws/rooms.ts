/**
 * Rooms over ws: replay after a drop, fan-out to a big room, publishing while its members are away,
 * and a crowd joining one room. Lifeline next to raw ws and to Socket.IO (with connection state
 * recovery where a drop is involved).
 */

import { collectGarbage } from '../framework/counter.js'
import { here, type Peer } from '../framework/peer.js'
import type { BenchOptions, Scenario, Side } from '../framework/types.js'
import { COMPLEXITY_BUDGET } from './complexity.js'
import { payloads, startLifeline, startRaw, until } from './servers.js'
import { startSocketIo } from './sio.js'

const CLIENTS = here(import.meta.url, './clients.ts')
const SIO = here(import.meta.url, './sio-clients.ts')
const SOCKET_IO_CSR = 'Socket.IO, connection state recovery'
const ROOM = 'room'

function replay(options: BenchOptions): Scenario {
  const missed = options.quick ? 2_000 : 10_000
  const lifeline = (name: string, raised: boolean): Side => ({
    name,
    run: async (context) => {
      const memory = raised ? { topicLog: { maxEntries: 200_000, maxBytes: 1 << 30 } } : undefined
      const side = await startLifeline(memory === undefined ? {} : { memory })
      try {
        const peer = await context.peer()
        await peer.call(CLIENTS, 'lifeline', { url: side.url, count: 1, topic: ROOM })
        void side.server.publish(ROOM, payloads[0])
        await peer.call(CLIENTS, 'expect', { total: 1 })
        await peer.call(CLIENTS, 'gate', { open: false })
        await peer.call(CLIENTS, 'drop')
        await until(() => side.server.stats.away === 1)
        for (let i = 0; i < missed; i++) void side.server.publish(ROOM, payloads[i % payloads.length])
        await peer.call(CLIENTS, 'reset')
        await peer.call(CLIENTS, 'online')
        const { ms, received } = await peer.call<{ ms: number; received: number }>(CLIENTS, 'replayed', {
          total: missed,
          timeoutMs: 3000,
        })
        return { ms, received }
      } finally {
        await side.close()
      }
    },
  })
  const socketIo: Side = {
    name: SOCKET_IO_CSR,
    run: async (context) => {
      const side = await startSocketIo(true)
      try {
        const peer = await context.peer()
        await peer.call(SIO, 'connect', { url: side.url, count: 1, room: ROOM })
        // Recovery needs an offset: the client must have received one packet before its drop.
        side.io.to(ROOM).emit('m', payloads[0])
        await peer.call(CLIENTS, 'expect', { total: 1 })
        await peer.call(SIO, 'drop')
        await until(() => side.io.of('/').sockets.size === 0)
        for (let i = 0; i < missed; i++) side.io.to(ROOM).emit('m', payloads[i % payloads.length])
        await peer.call(CLIENTS, 'reset')
        await peer.call(SIO, 'reconnect')
        await peer.call(CLIENTS, 'expect', { total: missed, timeoutMs: 30_000 })
        const ms = await peer.call<number>(SIO, 'sinceReconnect')
        return { ms, received: missed }
      } finally {
        await side.close()
      }
    },
  }
  return {
    id: 'ws.replay',
    title: `replay of ${missed.toLocaleString('en-US')} missed messages`,
    description: `One client in a room drops (its socket cut, its network down); the server publishes ${missed.toLocaleString('en-US')} messages to the room; the network comes back. Time from the first dial to the last missed message delivered. Lifeline with its default log bounds, and with the topic log raised; Socket.IO with connection state recovery (which keeps every packet for maxDisconnectionDuration).`,
    sides: [
      lifeline('Lifeline, default bounds', false),
      lifeline('Lifeline, topic log raised to 200,000', true),
      socketIo,
    ],
    metrics: [
      {
        key: 'ms',
        title: 'time to replay',
        unit: 'ms',
        better: 'lower',
        targets: [{ against: SOCKET_IO_CSR, max: 0.25 }],
      },
      {
        key: 'received',
        title: 'messages replayed',
        unit: 'msg',
        better: 'higher',
        targets: [{ min: missed }],
      },
    ],
  }
}

function fanout(options: BenchOptions): Scenario {
  const sessions = options.quick ? 100 : 2_000
  const publishes = 100
  const total = sessions * publishes
  const measure = async (peer: Peer, publish: () => void) => {
    await peer.call(CLIENTS, 'reset')
    const started = performance.now()
    const done = peer.call(CLIENTS, 'expect', { total })
    publish()
    await done
    return { rate: total / ((performance.now() - started) / 1000) }
  }
  const lifeline: Side = {
    name: 'Lifeline',
    run: async (context) => {
      const side = await startLifeline({ maxBufferedBytes: 1 << 30 })
      try {
        const peer = await context.peer()
        context.progress(`${sessions} clients joining`)
        await peer.call(CLIENTS, 'lifeline', { url: side.url, count: sessions, topic: ROOM })
        return await measure(peer, () => {
          for (let i = 0; i < publishes; i++) void side.server.publish(ROOM, payloads[i])
        })
      } finally {
        await side.close()
      }
    },
  }
  const raw = (name: string, batched: boolean): Side => ({
    name,
    run: async (context) => {
      const side = await startRaw(batched)
      try {
        const peer = await context.peer()
        await peer.call(CLIENTS, 'raw', { url: side.url, count: sessions })
        await side.connected(sessions)
        return await measure(peer, () => {
          for (let i = 0; i < publishes; i++) {
            const text = JSON.stringify(payloads[i])
            for (const socket of side.sockets) side.send(socket, text)
          }
        })
      } finally {
        await side.close()
      }
    },
  })
  const socketIo: Side = {
    name: 'Socket.IO',
    run: async (context) => {
      const side = await startSocketIo(false)
      try {
        const peer = await context.peer()
        await peer.call(SIO, 'connect', { url: side.url, count: sessions, room: ROOM })
        return await measure(peer, () => {
          for (let i = 0; i < publishes; i++) side.io.to(ROOM).emit('m', payloads[i])
        })
      } finally {
        await side.close()
      }
    },
  }
  return {
    id: 'ws.fanout',
    title: `fan-out, ${sessions.toLocaleString('en-US')} sessions, ${publishes} publishes`,
    description: `${sessions.toLocaleString('en-US')} clients (one process) in one room; the server publishes ${publishes} messages in one loop; deliveries per second until every client has every message. Raw ws encodes each message once and sends it to every socket, alone or batched per tick.`,
    sides: [
      lifeline,
      raw('raw ws, one send per message', false),
      raw('raw ws batched per tick', true),
      socketIo,
    ],
    rounds: options.quick ? 1 : 3,
    metrics: [
      {
        key: 'rate',
        title: 'deliveries per second',
        unit: 'deliveries/s',
        better: 'higher',
        targets: [
          { against: 'raw ws, one send per message', min: 0.9 },
          { against: 'raw ws batched per tick', min: 0.5 },
        ],
      },
    ],
  }
}

function publishAway(options: BenchOptions): Scenario {
  const away = options.quick ? 1_000 : 2_000
  const publishes = 5_000
  const lifeline = (count: number): Side => ({
    name: `Lifeline, ${count.toLocaleString('en-US')} away`,
    run: async (context) => {
      const side = await startLifeline()
      try {
        const peer = await context.peer()
        context.progress(`${count} clients joining`)
        await peer.call(CLIENTS, 'lifeline', { url: side.url, count, topic: ROOM })
        await peer.call(CLIENTS, 'gate', { open: false })
        await peer.call(CLIENTS, 'drop')
        await until(() => side.server.stats.away === count)
        return await timePublishes(() => void side.server.publish(ROOM, payloads[0]), publishes)
      } finally {
        await side.close()
      }
    },
  })
  const socketIo: Side = {
    name: `${SOCKET_IO_CSR}, ${away.toLocaleString('en-US')} away`,
    run: async (context) => {
      const side = await startSocketIo(true)
      try {
        const peer = await context.peer()
        await peer.call(SIO, 'connect', { url: side.url, count: away, room: ROOM })
        await peer.call(SIO, 'drop')
        await until(() => side.io.of('/').sockets.size === 0)
        return await timePublishes(() => side.io.to(ROOM).emit('m', payloads[0]), publishes)
      } finally {
        await side.close()
      }
    },
  }
  const flat = `Lifeline, 10 away`
  return {
    id: 'ws.publish-away',
    title: `publishing to a room while ${away.toLocaleString('en-US')} sessions are away`,
    description: `The room's members all dropped (sockets cut, network down) and are in their grace period; the server publishes ${publishes.toLocaleString('en-US')} messages to the room. CPU time per publish (the publish loop and its flush; the least of 5 batches), and heap kept per publish after a full GC. Against 10 sessions away (the cost must not grow with the sessions away) and Socket.IO with connection state recovery.`,
    sides: [lifeline(away), lifeline(10), socketIo],
    metrics: [
      {
        key: 'us',
        title: 'CPU time per publish',
        unit: 'µs',
        better: 'lower',
        targets: [
          { against: flat, max: COMPLEXITY_BUDGET, note: 'flat in sessions away', budget: true },
          { against: socketIo.name, max: 2 },
        ],
      },
      {
        key: 'heap',
        title: 'heap kept per publish',
        unit: 'bytes',
        better: 'lower',
        targets: [{ against: flat, max: 2, note: 'O(1) in sessions away' }],
      },
    ],
  }
}

/**
 * CPU time per publish (the publish loop and its flush): the least of several batches, which is what
 * the code costs when nothing else on a busy machine interferes. Heap kept per publish, after a GC.
 */
async function timePublishes(publish: () => void, count: number): Promise<{ us: number; heap: number }> {
  for (let i = 0; i < 200; i++) publish() // warm the path
  await new Promise((resolve) => setImmediate(resolve))
  await collectGarbage()
  const heapBefore = process.memoryUsage().heapUsed
  const batch = Math.ceil(count / 5)
  let best = Number.POSITIVE_INFINITY
  for (let done = 0; done < count; done += batch) {
    const cpu = process.cpuUsage()
    for (let i = 0; i < batch; i++) publish()
    await new Promise((resolve) => setImmediate(resolve))
    const used = process.cpuUsage(cpu)
    best = Math.min(best, (used.user + used.system) / batch)
  }
  await collectGarbage()
  return { us: best, heap: (process.memoryUsage().heapUsed - heapBefore) / (5 * batch) }
}

function joins(options: BenchOptions): Scenario {
  const members = options.quick ? 100 : 2_000
  const lifeline = (name: string, presence: boolean): Side => ({
    name,
    run: async (context) => {
      const side = await startLifeline({ presence: () => presence })
      try {
        const peer = await context.peer()
        await peer.call(CLIENTS, 'lifeline', { url: side.url, count: members })
        const started = performance.now()
        await peer.call(CLIENTS, 'joinAll', { topic: ROOM })
        return { s: (performance.now() - started) / 1000 }
      } finally {
        await side.close()
      }
    },
  })
  const socketIo: Side = {
    name: 'Socket.IO (no presence)',
    run: async (context) => {
      const side = await startSocketIo(false)
      try {
        const peer = await context.peer()
        await peer.call(SIO, 'connect', { url: side.url, count: members })
        const started = performance.now()
        await peer.call(SIO, 'joinAll', { room: ROOM })
        return { s: (performance.now() - started) / 1000 }
      } finally {
        await side.close()
      }
    },
  }
  return {
    id: 'ws.joins',
    title: `${members.toLocaleString('en-US')} sessions joining one room`,
    description: `${members.toLocaleString('en-US')} connected clients (one process) all join one room at once; time until every join is answered. Socket.IO's room has no presence. Lifeline without presence (a topic that opts out, LL-PRESENCE-6) is the like-for-like figure; with presence every member is told of every join (${members.toLocaleString('en-US')}² presence deliveries, sent in batches, LL-PRESENCE-7) and each joiner gets the member list.`,
    sides: [
      lifeline('Lifeline, topic without presence', false),
      lifeline('Lifeline, presence on', true),
      socketIo,
    ],
    rounds: options.quick ? 1 : 3,
    metrics: [
      {
        key: 's',
        title: 'time for all joins',
        unit: 's',
        better: 'lower',
        targets: [{ against: socketIo.name, max: 2 }],
      },
    ],
  }
}

export function roomScenarios(options: BenchOptions): Scenario[] {
  return [replay(options), fanout(options), publishAway(options), joins(options)]
}
