/**
 * hello -> welcome: version (LL-VERSION-1, -2), authentication on every hello (LL-AUTH-1, -2), the
 * resume decision (LL-RESUME-2..4, LL-MEMENTO-2..5, LL-AUTH-5), a new session or a resume with replay
 * (LL-REPLAY-1..3), and the recover hook (LL-APPM-3).
 */
import {
  CloseCode,
  closeCodeAction,
  type Hello,
  type UnrecoveredReason,
  type Welcome,
} from '@lifeline/protocol'
import type { ServerConnection } from './connection.js'
import type { ServerCore } from './core.js'
import type { Identity } from './options.js'
import { ServerSession } from './session.js'
import type { SessionStore, StreamEntry, StreamName, StreamRead } from './store.js'
import { topicStream } from './store.js'

/** Largest page read from a store while replaying. */
const REPLAY_PAGE = 10_000

export function refuse(
  core: ServerCore,
  connection: ServerConnection,
  code: CloseCode,
  reason: string,
): void {
  core.emit('refused', { code, reason, transport: connection.transport.info.transport })
  connection.close({ type: 'bye', code, reason, reconnect: closeCodeAction(code) !== 'fatal' })
}

/** Reads every entry of a stream after a seq, page by page. */
export async function readAll(
  store: SessionStore,
  stream: StreamName,
  afterSeq: number,
): Promise<StreamRead> {
  const first = await store.read(stream, afterSeq, REPLAY_PAGE)
  if (!first.covered || first.entries.length < REPLAY_PAGE) return first
  const entries: StreamEntry[] = [...first.entries]
  let read = first
  while (read.entries.length === REPLAY_PAGE) {
    read = await store.read(stream, entries[entries.length - 1]?.seq ?? afterSeq, REPLAY_PAGE)
    entries.push(...read.entries)
  }
  return { covered: true, entries, lastSeq: read.lastSeq }
}

type ResumeDecision = { readonly session: ServerSession } | { readonly reason: UnrecoveredReason }

/** Which session a memento may resume, if any. Verification comes before any lookup (LL-MEMENTO-2). */
export function decideResume(core: ServerCore, memento: string, subject: string): ResumeDecision {
  const verified = core.signer.verify(memento)
  if (!verified.ok) return { reason: 'invalid' }
  const claims = verified.claims
  if (claims.sub !== subject) return { reason: 'invalid' } // LL-AUTH-5: never another subject's session
  if (claims.exp <= core.options.clock.now()) return { reason: 'expired' } // LL-MEMENTO-4: server time only
  const session = core.sessions.get(claims.sid)
  if (session === undefined || session.phase === 'ended') {
    return { reason: core.wasEnded(claims.sid) ? 'expired' : 'unknown' }
  }
  // LL-MEMENTO-5: the previous generation stays good until the client proves it has the new one.
  const current = claims.gen === session.generation
  const previous = claims.gen === session.generation - 1 && !session.confirmed
  return current || previous ? { session } : { reason: 'invalid' }
}

export async function handleHello(
  core: ServerCore,
  connection: ServerConnection,
  hello: Hello,
): Promise<void> {
  connection.phase = 'opening'
  connection.cid = hello.cid
  const options = core.options
  const info = connection.transport.info
  const version = hello.versions.find((candidate) => options.versions.includes(candidate))
  if (version === undefined) {
    return refuse(core, connection, CloseCode.UNSUPPORTED_VERSION, 'no protocol version in common')
  }
  const source = info.remoteAddress ?? 'unknown'
  if (hello.resume !== undefined && core.failedResumes.blocked(source)) {
    return refuse(core, connection, CloseCode.RATE_LIMITED, 'too many failed resumes') // LL-RESUME-9
  }
  let identity: Identity
  try {
    identity = await options.authenticate(hello.auth, {
      connection: info,
      attempt: hello.attempt,
      resuming: hello.resume !== undefined,
    })
    if (typeof identity?.subject !== 'string') throw new TypeError('authenticate must return { subject }')
  } catch (error) {
    if (connection.isClosed) return
    const reason = error instanceof Error ? error.message : 'authentication failed'
    return refuse(core, connection, CloseCode.UNAUTHORIZED, reason) // LL-AUTH-2
  }
  if (connection.isClosed) return
  let reason: UnrecoveredReason | undefined
  if (hello.resume !== undefined) {
    const decision = decideResume(core, hello.resume.memento, identity.subject)
    if ('session' in decision) return resume(core, connection, hello, decision.session, version)
    reason = decision.reason
    if (reason === 'invalid') core.failedResumes.record(source)
  }
  return openSession(core, connection, hello, identity, version, reason)
}

function welcomeFrame(core: ServerCore, session: ServerSession, version: number, memento: string): Welcome {
  const options = core.options
  const welcome: Welcome = {
    type: 'welcome',
    version,
    sid: session.sid,
    memento,
    resumed: false,
    recovered: false,
    ackedSeq: session.processed,
    topics: [...session.topics],
    heartbeatMs: options.heartbeatMs,
    heartbeatTimeoutMs: options.heartbeatTimeoutMs,
    graceMs: options.graceMs,
    limits: { maxFrameBytes: options.maxFrameBytes, maxTopics: options.maxTopics },
  }
  if (session.appMemento !== undefined) {
    welcome.am = session.appMemento
    // LL-APPM-5: the value, read back from the server's own token (so a record from the store will do).
    const verified = core.signer.verifyAppMemento(session.appMemento, session.subject)
    if (verified.ok) welcome.amv = verified.value
  }
  return welcome
}

function newSessionId(core: ServerCore): string {
  return `s_${Buffer.from(core.options.randomBytes(16)).toString('base64url')}`
}

function openSession(
  core: ServerCore,
  connection: ServerConnection,
  hello: Hello,
  identity: Identity,
  version: number,
  reason: UnrecoveredReason | undefined,
): void {
  const options = core.options
  if (core.sessions.size >= options.maxSessions) {
    return refuse(core, connection, CloseCode.OVERLOADED, 'too many sessions')
  }
  const count = core.sessionsBySubject.get(identity.subject) ?? 0
  if (count >= options.maxSessionsPerSubject) {
    return refuse(core, connection, CloseCode.TOO_MANY_SESSIONS, 'too many sessions for this subject')
  }
  const session = new ServerSession(newSessionId(core), identity.subject, identity.meta, options.clock, core)
  core.sessions.set(session.sid, session)
  core.sessionsBySubject.set(identity.subject, count + 1)
  session.unsubscribeDirect = options.bus.subscribe(session.direct, (entry) =>
    session.deliver(session.direct, entry),
  )
  session.connection = connection
  connection.sid = session.sid
  connection.opened(options.heartbeatMs, options.heartbeatTimeoutMs)
  const welcome = welcomeFrame(core, session, version, core.issueMemento(session))
  if (reason !== undefined) welcome.reason = reason
  connection.send(welcome)
  core.persist(session)
  core.emit('session', {
    sid: session.sid,
    subject: session.subject,
    resumed: false,
    recovered: false,
    reason,
    attempt: hello.attempt,
    transport: connection.transport.info.transport,
  })
  if (reason !== undefined) recover(core, session, reason, hello)
}

async function resume(
  core: ServerCore,
  connection: ServerConnection,
  hello: Hello,
  session: ServerSession,
  version: number,
): Promise<void> {
  const options = core.options
  const previous = session.connection
  if (previous !== undefined && previous !== connection) {
    // LL-RESUME-8: the newer connection wins. The same client instance may simply try again; a
    // duplicated tab must not fight back.
    previous.sid = undefined
    const sameClient = previous.cid !== undefined && previous.cid === hello.cid
    previous.close(
      sameClient
        ? {
            type: 'bye',
            code: CloseCode.SUPERSEDED,
            reason: 'superseded by a newer connection',
            reconnect: true,
          }
        : {
            type: 'bye',
            code: CloseCode.SESSION_REPLACED,
            reason: 'session resumed elsewhere',
            reconnect: false,
          },
    )
  }
  session.connection = connection
  connection.sid = session.sid
  session.generation++
  session.confirmed = false
  const memento = core.issueMemento(session)
  const cursors = hello.resume?.topics ?? {}
  const streams: Array<{ stream: StreamName; from: number }> = [
    { stream: session.direct, from: session.resumeFrom(session.direct, hello.resume?.seq) },
  ]
  for (const topic of session.topics) {
    const stream = topicStream(topic)
    streams.push({ stream, from: session.resumeFrom(stream, cursors[topic]) })
  }
  // Back in the topics' fan-out, holding live entries until the replay is read (LL-REPLAY-2).
  core.registry.connected(session)
  for (const { stream } of streams) session.hold(stream)
  connection.opened(options.heartbeatMs, options.heartbeatTimeoutMs)
  const reads = await Promise.all(streams.map(({ stream, from }) => readAll(options.store, stream, from)))
  if (session.connection !== connection || connection.isClosed) return
  const recovered = reads.every((read) => read.covered) // LL-RESUME-3
  const welcome = welcomeFrame(core, session, version, memento)
  welcome.resumed = true
  welcome.recovered = recovered
  if (!recovered) welcome.reason = 'overflow'
  connection.send(welcome)
  let replayed = 0
  streams.forEach(({ stream, from }, i) => {
    const read = reads[i] as StreamRead
    replayed += read.covered ? read.entries.length : 0
    session.release(stream, read.covered ? read.entries : [], read.covered ? from : read.lastSeq)
  })
  if (replayed > 0) core.emit('replay', { sid: session.sid, entries: replayed })
  core.transition(session, { type: 'resumed' })
  core.persist(session)
  core.emit('session', {
    sid: session.sid,
    subject: session.subject,
    resumed: true,
    recovered,
    reason: recovered ? undefined : 'overflow',
    attempt: hello.attempt,
    transport: connection.transport.info.transport,
  })
  if (!recovered) recover(core, session, 'overflow', hello)
}

/** LL-APPM-3: hand the verified app memento to the app, so it can resync the client. */
function recover(core: ServerCore, session: ServerSession, reason: UnrecoveredReason, hello: Hello): void {
  const onRecover = core.options.onRecover
  if (onRecover === undefined) return
  const token = hello.am
  const verified = token === undefined ? undefined : core.signer.verifyAppMemento(token, session.subject)
  const appMemento = verified?.ok === true ? verified.value : undefined // LL-APPM-4
  // A new session has no topics yet: the client rejoins those its hello names (LL-TOPIC-6) next.
  const topics = session.topics.size > 0 ? [...session.topics] : Object.keys(hello.resume?.topics ?? {})
  Promise.resolve()
    .then(() => onRecover({ session: session.app, reason, appMemento, topics }))
    .catch((error: unknown) => core.reportError(error))
}
