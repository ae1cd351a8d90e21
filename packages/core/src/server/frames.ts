/**
 * Frames of an open session: sends processed once and in order (LL-SEND-2..5), acks (LL-ACK-3, -4),
 * joins and leaves (LL-TOPIC-1..4, -8), heartbeats and bye (LL-INTENT-1).
 */
import {
  type ClientFrame,
  CloseCode,
  type Join,
  type JoinError as JoinErrorFrame,
  type Joined,
  MAX_BATCH_FRAMES,
  type Send,
} from '@lifeline/protocol'
import { atEndOfTick } from '../microtask.js'
import { backpressure, estimateBytes } from './backlog.js'
import type { ServerConnection } from './connection.js'
import type { ServerCore } from './core.js'
import { handleHello, readAll } from './handshake.js'
import type { ServerSession } from './session.js'
import { owns } from './session-machine.js'
import { type SessionStore, type StreamHead, topicStream } from './store.js'

function protocolError(connection: ServerConnection, reason: string): void {
  connection.close({ type: 'bye', code: CloseCode.PROTOCOL_ERROR, reason, reconnect: false })
}

/**
 * Routes a client frame. `proves`: the client wrote it after reading welcome, so it holds the memento
 * that welcome brought; held frames (LL-HELLO-7) were written before, and prove nothing.
 */
export function handleFrame(
  core: ServerCore,
  connection: ServerConnection,
  frame: ClientFrame,
  bytes?: number,
  proves = true,
): void {
  if (connection.phase === 'hello') {
    if (frame.type !== 'hello') return protocolError(connection, 'the first frame must be hello') // LL-HELLO-1
    connection.held = []
    handleHello(core, connection, frame).then(
      () => releaseHeld(core, connection),
      (error: unknown) => {
        core.reportError(error, 'hello failed')
        connection.close({
          type: 'bye',
          code: CloseCode.INTERNAL_ERROR,
          reason: 'internal error',
          reconnect: true,
        })
      },
    )
    return
  }
  if (connection.held !== undefined) return hold(connection, frame)
  if (connection.phase !== 'open') return protocolError(connection, `${frame.type} before welcome`)
  const session = connection.sid === undefined ? undefined : core.sessions.get(connection.sid)
  if (session === undefined || session.connection !== connection) return
  // LL-MEMENTO-5: a frame written after welcome proves the client holds the memento it brought.
  if (proves && session.proven < session.generation) {
    session.proven = session.generation
    core.persist(session)
  }
  switch (frame.type) {
    case 'send':
      return receiveSend(core, session, connection, frame, bytes)
    case 'ack': {
      const stream = frame.topic === undefined ? session.direct : topicStream(frame.topic)
      const acked = session.ack(stream, frame.seq)
      // LL-ACK-4: the direct log keeps only what the client may still need.
      if (acked !== undefined && frame.topic === undefined) {
        core.options.store
          .trim(stream, acked)
          .catch((error: unknown) => core.reportError(error, 'store: trim failed'))
      }
      return
    }
    case 'join':
      return void join(core, session, connection, frame).catch((error: unknown) =>
        core.reportError(error, 'join failed'),
      )
    case 'leave':
      session.joining?.delete(frame.topic) // cancels a join being decided
      if (session.joining?.size === 0) session.joining = undefined
      core.leave(session, frame.topic)
      return connection.send({ type: 'unjoined', topic: frame.topic })
    case 'ping':
      return connection.send(frame.id === undefined ? { type: 'pong' } : { type: 'pong', id: frame.id })
    case 'pong':
      return
    case 'bye':
      // LL-INTENT-1: the session ends now, without grace.
      return core.end(session, 'bye', {
        type: 'bye',
        code: CloseCode.SESSION_ENDED,
        reason: 'bye',
        reconnect: false,
      })
    case 'hello':
      return protocolError(connection, 'second hello') // LL-FRAME-7
  }
}

/** LL-HELLO-7: bounded, in order, until welcome has gone out. */
function hold(connection: ServerConnection, frame: ClientFrame): void {
  const held = connection.held as ClientFrame[]
  if (held.length >= MAX_BATCH_FRAMES || connection.heldBytes > connection.maxFrameBytes) {
    return protocolError(connection, 'too many frames before welcome')
  }
  held.push(frame)
}

/** Handles the held frames as if they had arrived right after welcome; discards them after a bye. */
function releaseHeld(core: ServerCore, connection: ServerConnection): void {
  const held = connection.held ?? []
  connection.held = undefined
  for (const frame of held) {
    if (!connection.isOpen) return
    handleFrame(core, connection, frame, undefined, false)
  }
}

function receiveSend(
  core: ServerCore,
  session: ServerSession,
  connection: ServerConnection,
  frame: Send,
  bytes: number | undefined,
): void {
  if (session.resync && frame.seq > session.received) {
    // LL-NODE-3: taken from a node that died; the client's numbering is where the sends go on.
    session.received = session.processed = frame.seq - 1
  }
  session.resync = false
  if (frame.seq <= session.received) {
    // LL-SEND-2: a resend of what the server had not processed when this connection's welcome went
    // out, once; anything else reuses a seq, and acking it would ack a message never processed.
    const id = session.resendable?.get(frame.seq)
    if (id === undefined || id !== frame.id) {
      return protocolError(connection, `send seq ${frame.seq} was already used`)
    }
    session.resendable?.delete(frame.seq)
    if (frame.seq <= session.processed) scheduleAck(session)
    return
  }
  if (frame.seq !== session.received + 1) return protocolError(connection, 'send seq skipped a number')
  session.received = frame.seq
  session.unprocessed.set(frame.seq, frame.id)
  if (!session.busy && session.backlog.length === 0) return process(core, session, frame)
  session.enqueue(frame, bytes ?? estimateBytes(frame))
  backpressure(core, session)
}

/** Processes one send; an async step makes the session busy so later sends wait their turn. */
function process(core: ServerCore, session: ServerSession, frame: Send): void {
  let seen: boolean | Promise<boolean>
  try {
    seen = core.options.store.seenMessageId(session.subject, frame.id)
  } catch (error) {
    seen = Promise.reject(error)
  }
  if (typeof seen === 'boolean') return deliver(core, session, frame, !seen)
  session.busy = true
  seen.then(
    (known) => deliver(core, session, frame, !known),
    (error: unknown) => {
      core.reportError(error, 'store: seenMessageId failed')
      reject(core, session, frame, 'could not check the message id', false)
    },
  )
}

function deliver(core: ServerCore, session: ServerSession, frame: Send, fresh: boolean): void {
  const onMessage = core.options.onMessage
  // LL-SEND-3: an id seen from this subject within the window counts as processed, unseen by the app.
  if (!fresh) return done(core, session, frame.seq)
  if (onMessage === undefined) return processed(core, session, frame)
  let result: void | Promise<void>
  try {
    result = onMessage({ id: frame.id, seq: frame.seq, topic: frame.topic, data: frame.data }, session.app)
  } catch (error) {
    return reject(core, session, frame, core.publicReason(error, 'rejected', 'onMessage failed'), true)
  }
  if (!(result instanceof Promise)) return processed(core, session, frame)
  session.busy = true
  result.then(
    () => processed(core, session, frame),
    (error: unknown) =>
      reject(core, session, frame, core.publicReason(error, 'rejected', 'onMessage failed'), true),
  )
}

/**
 * LL-NODE-8: the id is recorded only now that the app processed the message, so a node that dies in
 * between leaves it to be processed on the next node, never acked unprocessed.
 */
function processed(core: ServerCore, session: ServerSession, frame: Send): void {
  if (core.halted) return
  let recorded: void | Promise<void>
  try {
    recorded = core.options.store.recordMessageId(session.subject, frame.id)
  } catch (error) {
    recorded = Promise.reject(error)
  }
  if (!(recorded instanceof Promise)) return done(core, session, frame.seq)
  session.busy = true
  recorded.then(
    () => done(core, session, frame.seq),
    (error: unknown) => {
      // Processed, but a resend may be processed again: said, not hidden.
      core.reportError(error, 'store: recordMessageId failed')
      done(core, session, frame.seq)
    },
  )
}

/** LL-SEND-5: the app said no; the client learns why, and the message counts as processed. */
function reject(
  core: ServerCore,
  session: ServerSession,
  frame: Send,
  reason: string,
  record: boolean,
): void {
  session.connection?.send({ type: 'error', code: CloseCode.REJECTED, reason, ref: frame.seq })
  if (record) processed(core, session, frame)
  else done(core, session, frame.seq)
}

function done(core: ServerCore, session: ServerSession, seq: number): void {
  session.busy = false
  session.processed = seq
  session.unprocessed.delete(seq)
  if (!owns(session.state)) {
    // Taken over meanwhile (LL-NODE-3): the new owner acks; the sends queued here were dropped.
    return session.idle()
  }
  scheduleAck(session)
  const next = session.dequeue()
  if (next !== undefined) process(core, session, next)
  else session.idle()
  // After the next one started: reading again may deliver sends at once, and they must queue behind it.
  if (session.connection?.isReadingPaused === true) backpressure(core, session)
}

/** LL-SEND-4: one cumulative ack per tick, after the app processed everything it covers. */
function scheduleAck(session: ServerSession): void {
  if (session.ackDue) return
  session.ackDue = true
  atEndOfTick(() => {
    session.ackDue = false
    session.connection?.send({ type: 'ack', seq: session.processed })
  })
}

async function join(core: ServerCore, session: ServerSession, connection: ServerConnection, frame: Join) {
  const { topic } = frame
  const stream = topicStream(topic)
  const options = core.options
  if (session.topics.has(topic)) {
    // LL-TOPIC-3: already joined: answer again, no new presence. The cursor is read once the members
    // are: entries sent meanwhile are below it, never after a joined that names an older seq.
    const members = await membersOf(core, topic)
    if (session.connection !== connection) return // superseded meanwhile
    const cursor = session.cursor(stream)
    const joined: Joined = { type: 'joined', topic, seq: cursor?.sent ?? 0, ...members }
    if (cursor?.epoch !== undefined) joined.epoch = cursor.epoch
    return connection.send(joined)
  }
  if (session.joining?.has(topic)) return // the same join is being decided; its answer will come
  if (session.topics.size + (session.joining?.size ?? 0) >= options.maxTopics) {
    const reason = 'too many topics'
    return connection.send({ type: 'join_error', topic, code: CloseCode.TOO_MANY_TOPICS, reason })
  }
  // A leave while the join is decided cancels it (frames are handled in order, LL-TOPIC-4).
  const token = {}
  session.joining ??= new Map()
  session.joining.set(topic, token)
  const cancelled = () => session.joining?.get(topic) !== token
  let refusal: Omit<JoinErrorFrame, 'type' | 'topic'> | undefined
  try {
    const allowed = (await options.onJoin?.(topic, session.app)) ?? true
    if (!allowed) refusal = { code: CloseCode.JOIN_DENIED, reason: 'join denied' }
  } catch (error) {
    refusal = {
      code: CloseCode.JOIN_FAILED,
      reason: core.publicReason(error, 'join failed', 'onJoin failed'),
    }
  }
  if (cancelled()) return
  session.joining?.delete(topic)
  if (session.joining?.size === 0) session.joining = undefined
  if (refusal !== undefined) return connection.send({ type: 'join_error', topic, ...refusal })
  if (session.connection !== connection || session.topics.has(topic)) return // resumed meanwhile: rejoined then
  if (!core.registry.has(topic) && core.registry.size >= options.maxLiveTopics) {
    // LL-LIMIT-9: a new topic beyond the node's bound; existing ones stay joinable.
    const reason = 'too many topics on this server'
    return connection.send({ type: 'join_error', topic, code: CloseCode.OVERLOADED, reason })
  }
  // Subscribe first and hold live entries, so none falls between the cursor and the live feed (LL-REPLAY-2).
  session.topics.add(topic)
  session.addStream(stream, 0)
  session.hold(stream)
  core.registry.subscribe(topic, session)
  let cursor: number
  let lastSeq: number
  let epoch: string
  let recovered: boolean | undefined
  let replay: Awaited<ReturnType<typeof readAll>>['entries'] = []
  let appMemento: Awaited<ReturnType<NonNullable<SessionStore['lastAppMemento']>>>
  if (frame.from !== undefined) {
    const read = await readAll(options.store, stream, frame.from)
    // LL-TOPIC-2, LL-EPOCH-3: covered, and in the incarnation the cursor names.
    recovered = read.covered && frame.epoch === read.epoch
    lastSeq = read.lastSeq
    epoch = read.epoch
    cursor = recovered ? frame.from : read.lastSeq
    if (recovered) replay = read.entries
    appMemento = await options.store.lastAppMemento?.(stream)
  } else {
    // Asked in one tick, so a store in this process answers both as of the same entry.
    let head: StreamHead
    ;[head, appMemento] = await Promise.all([
      options.store.head(stream),
      options.store.lastAppMemento?.(stream),
    ])
    ;({ lastSeq, epoch } = head)
    cursor = lastSeq
  }
  // LL-PRESENCE-3, LL-NODE-7: every node's members, read after lastSeq, so as of it at least;
  // applying a later entry again is harmless.
  const members = await membersOf(core, topic)
  if (!session.topics.has(topic)) return // left while we read
  // Resumed on another connection while we read: that resume holds, reads and replays this topic
  // itself; releasing its hold here would let a live entry slip between its read and its welcome.
  if (session.connection !== connection) return
  session.reset(stream, cursor, epoch)
  const joined: Joined = { type: 'joined', topic, seq: cursor, epoch, ...members }
  if (recovered !== undefined) joined.recovered = recovered
  if (lastSeq > cursor) joined.membersSeq = lastSeq
  // LL-APPM-8: read at or after the cursor was fixed, so with a seq at or below it, no later app memento
  // precedes the cursor: it is the topic's app memento as of joined.seq. Otherwise it is not, and stays out.
  if (appMemento !== undefined && appMemento.seq <= cursor) joined.amv = appMemento.value
  connection.send(joined)
  session.release(stream, replay)
  if (replay.length > 0) core.emit('replay', { sid: session.sid, entries: replay.length })
  core.presence(session, topic, 'joined')
  core.persist(session)
}

/** LL-PRESENCE-3, LL-PRESENCE-6: the member list, or the explicit word that the topic has none. */
async function membersOf(core: ServerCore, topic: string): Promise<Pick<Joined, 'members' | 'presence'>> {
  if (!core.options.presence(topic)) return { members: [], presence: false }
  const read = core.options.store.members(topicStream(topic))
  return { members: [...(read instanceof Promise ? await read : read)] }
}
