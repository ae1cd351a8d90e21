/** The real client and the real server (with the test application of spec/vectors/README.md). */
import type { TraceStep } from '@lifeline/protocol/vectors'
import {
  BufferOverflowError,
  createClient,
  inertEnvironment,
  type LifelineClient,
  memoryStorage,
  SendRejectedError,
  type SyncSessionStorage,
} from '../../src/index.js'
import { createServer, type LifelineServer } from '../../src/server.js'
import type { FakeNetwork, SimulatedClock } from '../../src/testing.js'
import { seededRandom, testApplication } from '../../src/testing.js'
import { settle } from './base.js'

type ClientAction = Extract<TraceStep, { do: unknown; client: string }>['do']
type ServerAction = Extract<TraceStep, { server: 'app'; do: unknown }>['do']

export interface SideContext {
  readonly clock: SimulatedClock
  readonly network: FakeNetwork
  readonly sidToActor: Map<string, string>
  readonly settings: { heartbeatMs: number; heartbeatTimeoutMs: number; graceMs: number }
  readonly serverSettings: { maxTopics?: number; topicLogEntries?: number; sessionLogEntries?: number }
  event(key: string, value: Record<string, unknown>): void
}

export class RealClients {
  private readonly clients = new Map<string, LifelineClient>()
  private readonly storages = new Map<string, SyncSessionStorage>()

  constructor(private readonly context: SideContext) {}

  sid(actor: string): string {
    const sid = this.clients.get(actor)?.sid
    if (sid === undefined) throw new Error(`${actor} has no session`)
    return sid
  }

  act(actor: string, action: ClientAction): void {
    const { context } = this
    if (action.action === 'connect') {
      const copied = action.storageOf === undefined ? undefined : this.storages.get(action.storageOf)?.load()
      const storage = memoryStorage(copied === undefined ? undefined : structuredClone(copied))
      this.storages.set(actor, storage)
      const client = createClient({
        storage,
        transport: context.network.client(actor),
        clock: context.clock,
        random: seededRandom(7),
        environment: inertEnvironment,
        idPrefix: actor,
        ...(action.auth === undefined ? {} : { auth: action.auth }),
      })
      this.clients.set(actor, client)
      this.listen(actor, client)
      return client.connect()
    }
    const client = this.clients.get(actor)
    if (client === undefined) throw new Error(`${actor} is not connected`)
    switch (action.action) {
      case 'send': {
        const options = {
          ...(action.topic === undefined ? {} : { topic: action.topic }),
          ...(action.id === undefined ? {} : { id: action.id }),
        }
        const settled = (outcome: string) =>
          context.event(`${actor}|settled`, { event: 'settled', data: action.data, outcome })
        client.send(action.data, options).then(
          () => settled('acked'),
          (error: unknown) =>
            settled(
              error instanceof SendRejectedError
                ? 'rejected'
                : error instanceof BufferOverflowError
                  ? 'dropped'
                  : 'failed',
            ),
        )
        return
      }
      case 'join':
        client.join(action.topic).catch(() => {})
        return
      case 'leave':
        return client.leave(action.topic)
      case 'close':
        return client.close()
    }
  }

  close(): void {
    for (const client of this.clients.values()) client.close()
  }

  private listen(actor: string, client: LifelineClient): void {
    const record = (kind: string, value: Record<string, unknown>) =>
      this.context.event(`${actor}|${kind}`, value)
    client.on('status', (status) => {
      if (status.type === 'idle') return
      record('status', { event: 'status', status: status.type })
      if (status.type === 'closed') {
        const code = (status.error as { code?: number } | undefined)?.code ?? 1000
        record('closed', { event: 'closed', code })
      }
    })
    client.on('message', (m) => record('message', { event: 'message', topic: m.topic, data: m.data }))
    client.on('presence', (p) =>
      record('presence', { event: 'presence', topic: p.topic, member: p.sid, change: p.event }),
    )
    client.on('session', (s) => {
      this.context.sidToActor.set(s.sid, actor)
      if (s.resumeAsked) {
        record('recovered', {
          event: 'recovered',
          resumed: s.resumed,
          recovered: s.recovered,
          reason: s.reason,
          appMemento: client.appMemento(),
        })
      }
    })
    client.on('joined', (j) =>
      record('joined', { event: 'joined', topic: j.topic, appMemento: j.appMemento }),
    )
    client.on('joinError', (e) => record('join_error', { event: 'join_error', topic: e.topic, code: e.code }))
  }
}

export class RealServer {
  server: LifelineServer

  constructor(
    private readonly context: SideContext,
    private readonly sidOf: (actor: string) => string,
  ) {
    this.server = this.make()
  }

  async start(): Promise<void> {
    await this.server.attach(this.context.network.serverTransport())
  }

  async stop(): Promise<void> {
    await this.server.shutdown()
  }

  async act(action: ServerAction, actors: Iterable<string>): Promise<void> {
    const server = this.server
    switch (action.action) {
      case 'publish': {
        if (action.to !== undefined) {
          const options = action.appMemento === undefined ? {} : { appMemento: action.appMemento }
          await server.send(this.sidOf(action.to), action.data, options)
        } else if (action.topic !== undefined) {
          const options = action.appMemento === undefined ? {} : { appMemento: action.appMemento }
          await server.publish(action.topic, action.data, options)
        }
        return
      }
      case 'kick':
        server.kick(this.sidOf(action.client), action.reason)
        return
      case 'remove':
        server.remove(this.sidOf(action.client), action.topic)
        return
      case 'shutdown':
        return server.goAway({
          ...(action.retryAfterMs === undefined ? {} : { retryAfterMs: action.retryAfterMs }),
          ...(action.jitterMs === undefined ? {} : { jitterMs: action.jitterMs }),
        })
      case 'restart': {
        // A process restart: every link breaks, and a memory store forgets every session.
        for (const actor of actors) this.context.network.client(actor).reset()
        await settle()
        await server.shutdown()
        this.server = this.make()
        await this.start()
        return
      }
    }
  }

  private make(): LifelineServer {
    const { context } = this
    const { maxTopics, topicLogEntries, sessionLogEntries } = context.serverSettings
    const server = createServer({
      secret: 'trace-secret-trace-secret-trace-secret',
      clock: context.clock,
      ...context.settings,
      ...(maxTopics === undefined ? {} : { maxTopics }),
      memory: {
        ...(topicLogEntries === undefined ? {} : { topicLog: { maxEntries: topicLogEntries } }),
        ...(sessionLogEntries === undefined ? {} : { directLog: { maxEntries: sessionLogEntries } }),
      },
      ...testApplication(
        () => this.server,
        (event, sid, fields) => context.event(`server|${event}`, { event, client: sid, ...fields }),
      ),
    })
    server.on('session', (event) => {
      context.event('server|attempt', { event: 'attempt', client: event.sid, attempt: event.attempt })
    })
    return server
  }
}
