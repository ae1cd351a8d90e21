/**
 * The client-suite driver for the TypeScript client (@lifeline/core over @lifeline/ws/node, or
 * @lifeline/socket.io when the suite gives an endpoint descriptor): reads
 * commands from stdin and writes the app-visible events to stdout, one JSON object per line
 * (spec/conformance.md, "The driver protocol"). Run it with `node dist/drivers/typescript.js`.
 */
import { createInterface } from 'node:readline'
import {
  BufferOverflowError,
  createClient,
  inertEnvironment,
  type LifelineClient,
  memoryStorage,
  SendRejectedError,
  type SessionStorage,
} from '@lifeline/core'
import { type SocketIoEndpoint, socketIoTransport } from '@lifeline/socket.io'
import { wsTransport } from '@lifeline/ws/node'

type Command = Record<string, unknown> & { cmd?: unknown; client?: unknown }

const clients = new Map<string, LifelineClient>()
const storages = new Map<string, SessionStorage>()

function emit(event: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(event)}\n`)
}

function complain(text: string): void {
  process.stderr.write(`typescript driver: ${text}\n`)
}

function listen(actor: string, client: LifelineClient): void {
  const event = (name: string, value: Record<string, unknown>) =>
    emit({ event: name, client: actor, ...value })
  client.on('status', (status) => {
    if (status.type === 'idle') return
    event('status', { status: status.type })
    if (status.type === 'closed') {
      const code = (status.error as { code?: unknown } | undefined)?.code
      event('closed', { code: typeof code === 'number' ? code : 1000 })
    }
  })
  client.on('message', (message) =>
    event('message', {
      ...(message.topic === undefined ? {} : { topic: message.topic }),
      data: message.data,
    }),
  )
  client.on('presence', (presence) =>
    event('presence', { topic: presence.topic, sid: presence.sid, change: presence.event }),
  )
  client.on('session', (session) => {
    // `recovered` answers a hello that asked to resume, not a first connect.
    if (!session.resumeAsked) return
    event('recovered', {
      resumed: session.resumed,
      recovered: session.recovered,
      ...(session.reason === undefined ? {} : { reason: session.reason }),
      ...(client.appMemento() === undefined ? {} : { appMemento: client.appMemento() }),
    })
  })
  client.on('joined', (joined) =>
    event('joined', {
      topic: joined.topic,
      ...(joined.appMemento === undefined ? {} : { appMemento: joined.appMemento }),
    }),
  )
  client.on('joinError', (error) => event('join_error', { topic: error.topic, code: error.code }))
  client.on('error', (error) => complain(`${actor}: ${error.message}`))
}

function isDescriptor(value: unknown): value is SocketIoEndpoint {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as { transport?: unknown }).transport === 'socket.io'
  )
}

function connect(actor: string, command: Command): void {
  if (typeof command.url !== 'string') return complain(`connect ${actor}: no url`)
  clients.get(actor)?.close()
  let copied: unknown
  if (typeof command.storageOf === 'string') {
    const stored = storages.get(command.storageOf)?.load()
    copied = stored === undefined ? undefined : structuredClone(stored)
  }
  const storage = memoryStorage(copied as Parameters<typeof memoryStorage>[0])
  storages.set(actor, storage)
  const client = createClient({
    // Over Socket.IO the suite gives an endpoint descriptor (LL-SIO-5), taken as it is.
    transport: isDescriptor(command.endpoint)
      ? socketIoTransport(command.endpoint)
      : wsTransport(command.url),
    storage,
    environment: inertEnvironment,
    ...(Object.hasOwn(command, 'auth') ? { auth: command.auth } : {}),
  })
  clients.set(actor, client)
  listen(actor, client)
  client.connect()
}

function send(actor: string, client: LifelineClient, command: Command): void {
  const data = command.data
  const options = {
    ...(typeof command.topic === 'string' ? { topic: command.topic } : {}),
    ...(typeof command.id === 'string' ? { id: command.id } : {}),
  }
  const settled = (outcome: string) => emit({ event: 'settled', client: actor, data, outcome })
  let sending: Promise<void>
  try {
    sending = client.send(data, options)
  } catch (error) {
    complain(`${actor}: send threw ${(error as Error).message}`)
    return settled('failed')
  }
  sending.then(
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
}

let exiting = false

function exit(): void {
  if (exiting) return
  exiting = true
  for (const client of clients.values()) client.close()
  // Let the close frames leave.
  setTimeout(() => process.exit(0), 50).unref()
  setTimeout(() => process.exit(0), 500)
}

function handle(command: Command): void {
  if (command.cmd === 'exit') return exit()
  const actor = command.client
  if (typeof actor !== 'string') return complain(`a command without a client: ${JSON.stringify(command)}`)
  if (command.cmd === 'connect') return connect(actor, command)
  const client = clients.get(actor)
  if (client === undefined) return complain(`${String(command.cmd)} for ${actor}, which never connected`)
  switch (command.cmd) {
    case 'send':
      return send(actor, client, command)
    case 'join':
      if (typeof command.topic !== 'string') return complain(`join without a topic`)
      client.join(command.topic).catch(() => {}) // the outcome is reported by joined / join_error
      return
    case 'leave':
      if (typeof command.topic !== 'string') return complain(`leave without a topic`)
      return client.leave(command.topic)
    case 'close':
      return client.close()
    default:
      return complain(`unknown command ${JSON.stringify(command.cmd)}`)
  }
}

const lines = createInterface({ input: process.stdin })
lines.on('line', (line) => {
  if (line.trim() === '') return
  let command: unknown
  try {
    command = JSON.parse(line)
  } catch {
    return complain(`not JSON: ${line}`)
  }
  if (typeof command !== 'object' || command === null) return complain(`not a command: ${line}`)
  try {
    handle(command as Command)
  } catch (error) {
    complain(`${line}: ${(error as Error).stack ?? error}`)
  }
})
lines.on('close', exit)

emit({ event: 'ready', name: '@lifeline/core (TypeScript)', capabilities: ['storage', 'socket.io'] })
