/**
 * hello -> welcome: version (LL-VERSION-1, -2), authentication on every hello (LL-AUTH-1, -2), the
 * resume decision (LL-RESUME-2..4, LL-MEMENTO-2..5, LL-AUTH-5), a new session or a resume with replay
 * (LL-REPLAY-1..3), and the recover hook (LL-APPM-3).
 */
import {
  CloseCode,
  closeCodeAction,
  type Hello,
  type LostStreams,
  MAX_SUBJECT_BYTES,
  type ServerBye,
  type UnrecoveredReason,
  type Welcome,
} from '@lifeline/protocol'
import { backpressure } from './backlog.js'
import type { ServerConnection } from './connection.js'
import type { ServerCore } from './core.js'
import type { Identity } from './options.js'
import { ServerSession } from './session.js'
import type { DedupInfo, SessionStore, StreamEntry, StreamName, StreamRead } from './store.js'
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
    // A page of another incarnation does not continue the first one (LL-EPOCH-3).
    if (read.epoch !== first.epoch) return { ...read, covered: false, entries: [] }
    entries.push(...read.entries)
  }
  return { covered: true, entries, lastSeq: read.lastSeq, epoch: first.epoch }
}

type ResumeDecision =
  | { readonly session: ServerSession }
  | { readonly reason: UnrecoveredReason }
  /** Another connection took the session meanwhile (LL-RESUME-8). */
  | { readonly closed: CloseCode }

/** How many times a resume decides again after a claim or takeover in flight settled. */
const MAX_DECISIONS = 4

/**
 * Which session a memento may resume, if any. Verification comes before any lookup (LL-MEMENTO-2).
 * A session this node does not hold is looked up in the store and taken over (LL-NODE-3).
 */
export async function decideResume(
  core: ServerCore,
  memento: string,
  subject: string,
  cid: string | undefined,
): Promise<ResumeDecision> {
  const verified = core.signer.verify(memento)
  // LL-MEMENTO-9: a retired key is no attack, and has a reason of its own.
  if (!verified.ok) return { reason: verified.reason === 'unknown-key' ? 'retired' : 'invalid' }
  const claims = verified.claims
  if (claims.sub !== subject) return { reason: 'invalid' } // LL-AUTH-5: never another subject's session
  if (claims.exp <= core.options.clock.now()) return { reason: 'expired' } // LL-MEMENTO-4: server time only
  // LL-MEMENTO-5: any generation from the proven one up to the newest, however many welcomes were
  // lost; below the proven one, never again.
  const accepted = (proven: number, generation: number) => claims.gen >= proven && claims.gen <= generation
  for (let decisions = 0; decisions < MAX_DECISIONS; decisions++) {
    const session = core.sessions.get(claims.sid)
    if (session?.unsettled === true) {
      await session.whenSettled()
      continue
    }
    if (session !== undefined) {
      return accepted(session.proven, session.generation) ? { session } : { reason: 'invalid' }
    }
    const ended = core.endReason(claims.sid)
    if (ended !== undefined) return { reason: ended } // LL-RESUME-4
    const record = await core.options.store.getSession(claims.sid)
    if (core.sessions.has(claims.sid)) continue // taken here meanwhile
    if (record === undefined) return { reason: 'unknown' }
    if (record.ended !== undefined) return { reason: record.ended } // LL-NODE-4: how it ended, cluster-wide
    if (record.subject !== subject || !accepted(record.proven, record.generation))
      return { reason: 'invalid' }
    return core.ownership.adopt(record, true, cid)
  }
  return { closed: CloseCode.SUPERSEDED }
}

/** LL-AUTH-6: 1-256 UTF-8 bytes of well-formed Unicode, no control characters: every memento can carry it. */
/**
 * LL-RESUME-8: the bye of a connection whose session moved to a newer one: the same client may try
 * again (SUPERSEDED); another client (a duplicated tab, another node's takeover) must not fight back.
 */
export function movedBye(how: 'superseded' | 'replaced'): ServerBye {
  return how === 'superseded'
    ? { type: 'bye', code: CloseCode.SUPERSEDED, reason: 'superseded by a newer connection', reconnect: true }
    : { type: 'bye', code: CloseCode.SESSION_REPLACED, reason: 'session resumed elsewhere', reconnect: false }
}

export function validSubject(subject: string): boolean {
  // Every UTF-16 unit takes at least one UTF-8 byte: a longer string cannot fit, and is not scanned.
  if (subject.length === 0 || subject.length > MAX_SUBJECT_BYTES) return false
  let bytes = 0
  for (let i = 0; i < subject.length; i++) {
    const unit = subject.charCodeAt(i)
    if (unit < 0x20) return false
    if (unit < 0x80) bytes += 1
    else if (unit < 0x800) bytes += 2
    else if (unit >= 0xdc00 && unit < 0xe000)
      return false // a low surrogate alone
    else if (unit >= 0xd800 && unit < 0xdc00) {
      const low = subject.charCodeAt(i + 1)
      if (!(low >= 0xdc00 && low < 0xe000)) return false // a high surrogate alone
      bytes += 4
      i++
    } else bytes += 3
  }
  return bytes <= MAX_SUBJECT_BYTES
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
    const reason = core.publicReason(error, 'unauthorized', 'authenticate failed')
    return refuse(core, connection, CloseCode.UNAUTHORIZED, reason) // LL-AUTH-2
  }
  if (connection.isClosed) return
  if (!validSubject(identity.subject)) {
    // LL-AUTH-6: fatal, since every attempt would yield the same subject.
    const reason = `the subject must be 1-${MAX_SUBJECT_BYTES} UTF-8 bytes without control characters`
    return refuse(core, connection, CloseCode.INVALID_SUBJECT, reason)
  }
  const dedup = await options.store.dedupInfo(identity.subject)
  if (connection.isClosed) return
  let reason: UnrecoveredReason | undefined
  if (hello.resume !== undefined) {
    const decision = await decideResume(core, hello.resume.memento, identity.subject, hello.cid)
    if (connection.isClosed) {
      // Taken from the store for a connection that is gone meanwhile: away here, in its grace.
      if ('session' in decision && decision.session.connection === undefined)
        core.transition(decision.session, { type: 'dropped' })
      return
    }
    // LL-RESUME-9: a memento that verifies is never refused, whatever others did.
    if ('session' in decision) return resume(core, connection, hello, decision.session, version, dedup)
    if ('closed' in decision) {
      const superseded = decision.closed === CloseCode.SUPERSEDED
      const reason = superseded ? 'superseded by a newer connection' : 'session resumed elsewhere'
      return connection.close({ type: 'bye', code: decision.closed, reason, reconnect: superseded })
    }
    reason = decision.reason
    const key =
      reason === 'invalid'
        ? options.resumeLimitKey({ connection: info, subject: identity.subject })
        : undefined
    if (key !== undefined) {
      if (core.failedResumes.blocked(key)) {
        return refuse(core, connection, CloseCode.RATE_LIMITED, 'too many failed resumes')
      }
      core.failedResumes.record(key)
    }
  }
  return openSession(core, connection, hello, identity, version, reason, dedup)
}

function welcomeFrame(
  core: ServerCore,
  session: ServerSession,
  version: number,
  memento: string,
  dedup: DedupInfo,
): Welcome {
  const options = core.options
  const welcome: Welcome = {
    type: 'welcome',
    version,
    sid: session.sid,
    memento,
    resumed: false,
    recovered: false,
    ackedSeq: session.processed,
    receivedSeq: session.received, // LL-SEND-8: new sends follow it
    dedupEpoch: dedup.epoch, // LL-SEND-10
    topics: [...session.topics],
    heartbeatMs: options.heartbeatMs,
    heartbeatTimeoutMs: options.heartbeatTimeoutMs,
    graceMs: options.graceMs,
    // LL-LIMIT-6: every bound a client's behaviour depends on.
    limits: {
      maxFrameBytes: options.maxFrameBytes,
      maxTopics: options.maxTopics,
      maxSessions: options.maxSessionsPerSubject,
      dedupIds: dedup.maxIds,
      dedupMs: dedup.maxAgeMs,
      maxPendingSends: options.maxPendingSends,
      maxPendingSendBytes: options.maxPendingSendBytes,
    },
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

async function openSession(
  core: ServerCore,
  connection: ServerConnection,
  hello: Hello,
  identity: Identity,
  version: number,
  reason: UnrecoveredReason | undefined,
  dedup: DedupInfo,
): Promise<void> {
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
  session.resendable = new Map()
  connection.sid = session.sid
  const memento = core.issueMemento(session)
  // LL-NODE-2: stored before the client holds a memento of it, so every node can resume it.
  core.persist(session)
  if (session.writes.busy) {
    await session.writes.idle()
    if (session.connection !== connection || connection.isClosed) return
  }
  const welcome = welcomeFrame(core, session, version, memento, dedup)
  if (reason !== undefined) welcome.reason = reason
  connection.opened(options.heartbeatMs, options.heartbeatTimeoutMs)
  connection.send(welcome)
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

interface ResumedStream {
  readonly stream: StreamName
  readonly topic: string | undefined
  readonly from: number
  /** The client's cursor is above anything it can know of (LL-RESUME-11): a lost welcome's reset. */
  readonly beyond: boolean
  /** The incarnation the client's cursor names, when it sent one (LL-EPOCH-3). */
  readonly clientEpoch: string | undefined
}

/** The streams of a resuming session and where the client's replay of each starts (LL-REPLAY-1). */
function resumedStreams(session: ServerSession, hello: Hello): ResumedStream[] {
  const resume = hello.resume
  const direct = session.cursor(session.direct)
  const streams: ResumedStream[] = [
    {
      stream: session.direct,
      topic: undefined,
      from: Math.max(direct?.acked ?? 0, resume?.seq ?? 0),
      beyond: (resume?.seq ?? 0) > (direct?.known ?? 0),
      clientEpoch: undefined,
    },
  ]
  for (const topic of session.topics) {
    const stream = topicStream(topic)
    const cursor = resume?.topics?.[topic]
    const state = session.cursor(stream)
    streams.push({
      stream,
      topic,
      from: Math.max(state?.acked ?? 0, cursor ?? 0),
      beyond: (cursor ?? 0) > (state?.known ?? 0),
      clientEpoch: cursor === undefined ? undefined : resume?.epochs?.[topic],
    })
  }
  return streams
}

async function resume(
  core: ServerCore,
  connection: ServerConnection,
  hello: Hello,
  session: ServerSession,
  version: number,
  dedup: DedupInfo,
): Promise<void> {
  const options = core.options
  const previous = session.connection
  if (previous !== undefined && previous !== connection) {
    // LL-RESUME-8: the newer connection wins. The same client instance may simply try again; a
    // duplicated tab must not fight back.
    previous.sid = undefined
    const sameClient = previous.cid !== undefined && previous.cid === hello.cid
    previous.close(movedBye(sameClient ? 'superseded' : 'replaced'))
  }
  session.connection = connection
  connection.sid = session.sid
  session.generation++
  const memento = core.issueMemento(session)
  const streams = resumedStreams(session, hello)
  // Back in the topics' fan-out, holding live entries until the replay is read (LL-REPLAY-2).
  core.registry.connected(session)
  for (const { stream } of streams) session.hold(stream)
  const reads = await Promise.all(streams.map(({ stream, from }) => readAll(options.store, stream, from)))
  if (session.connection !== connection || connection.isClosed) return
  const lost: LostStreams = {}
  const replays: StreamEntry[][] = []
  streams.forEach((resumed, i) => {
    const read = reads[i] as StreamRead
    const known = session.epochOf(resumed.stream)
    // LL-EPOCH-3: a cursor is read only against the incarnation it names, the session's and the client's.
    const sameIncarnation =
      (known === undefined || known === read.epoch) &&
      (resumed.clientEpoch === undefined || resumed.clientEpoch === read.epoch)
    if (read.covered && sameIncarnation && !resumed.beyond) {
      session.reset(resumed.stream, resumed.from, read.epoch)
      replays.push([...read.entries])
      return
    }
    // LL-RESUME-3, LL-RESUME-11: not recovered; say which stream, and where it continues.
    session.reset(resumed.stream, read.lastSeq, read.epoch)
    replays.push([])
    if (resumed.topic === undefined) lost.seq = read.lastSeq
    else {
      lost.topics ??= {}
      lost.topics[resumed.topic] = { seq: read.lastSeq, epoch: read.epoch }
    }
  })
  const recovered = lost.seq === undefined && lost.topics === undefined
  // LL-NODE-2: the memento's generation is stored before the client holds it, so any node resumes it.
  core.persist(session)
  if (session.writes.busy) {
    await session.writes.idle()
    if (session.connection !== connection || connection.isClosed) return
  }
  const welcome = welcomeFrame(core, session, version, memento, dedup)
  welcome.resumed = true
  welcome.recovered = recovered
  if (!recovered) {
    welcome.reason = 'overflow'
    welcome.lost = lost
  }
  connection.opened(options.heartbeatMs, options.heartbeatTimeoutMs)
  connection.send(welcome)
  // LL-SEND-2: what this connection may resend is what the server had not processed yet.
  session.resendable = new Map(session.unprocessed)
  let replayed = 0
  streams.forEach(({ stream }, i) => {
    const replay = replays[i] as StreamEntry[]
    replayed += replay.length
    session.release(stream, replay)
  })
  if (replayed > 0) core.emit('replay', { sid: session.sid, entries: replayed })
  backpressure(core, session) // sends still queued from the previous connection hold this one back too
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
    .catch((error: unknown) => core.reportError(error, 'onRecover failed'))
}
