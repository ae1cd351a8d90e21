/** What the client tells its app: the status union and the events, by name. */
import type { PresenceEvent, UnrecoveredReason } from '@lifeline/protocol'

/** The client's status, as a discriminated union on `type`. */
export type ClientStatus =
  | { readonly type: 'idle' }
  /** `transport`: the name of the attempt's transport (`ws`, `socket.io`...), one of several maybe. */
  | { readonly type: 'connecting'; readonly attempt: number; readonly transport: string }
  | {
      readonly type: 'open'
      readonly sid: string
      readonly resumed: boolean
      readonly recovered: boolean
      readonly transport: string
    }
  | {
      readonly type: 'waiting'
      readonly attempt: number
      readonly delayMs: number
      readonly reason: 'backoff' | 'server' | 'offline'
    }
  | { readonly type: 'closed'; readonly error: Error | undefined }

export interface InboundMessage {
  readonly topic: string | undefined
  readonly data: unknown
  readonly seq: number
}

export interface PresenceChange {
  readonly topic: string
  readonly sid: string
  readonly event: PresenceEvent
  readonly meta: unknown
  readonly seq: number
}

/** Every welcome: whether the session continued and whether anything was lost (LL-RESUME-2..7). */
export interface SessionEvent {
  readonly sid: string
  readonly resumed: boolean
  readonly recovered: boolean
  /** True when this connection asked to resume a session. */
  readonly resumeAsked: boolean
  readonly reason: UnrecoveredReason | undefined
  /**
   * How long the server keeps a session after its connection drops (`welcome.graceMs`): a dropped
   * member stays `away` for that long before it is `left`, e.g. for a countdown.
   */
  readonly graceMs: number
}

/** The session could not be recovered: resync from your own storage (LL-RESUME-7, LL-APPM-3). */
export interface UnrecoveredEvent {
  readonly reason: UnrecoveredReason
  /**
   * The value of the session's last app memento, as the server app set it (LL-APPM-5), e.g.
   * `{ lastAnnotation: 812 }`; undefined when it never set one. Each topic's own app memento comes
   * with its `joined` event, and from `client.appMemento(topic)`.
   */
  readonly appMemento: unknown
  /** True when the direct stream lost entries (always, for a new session). */
  readonly direct: boolean
  /** Topics that lost entries in this resume; in a new session each topic's join reports its own. */
  readonly topics: readonly string[]
}

/** A join confirmed: first, again after a reconnect, or restored (LL-TOPIC-1, LL-TOPIC-2). */
export interface JoinedEvent {
  readonly topic: string
  /** With a rejoin from a cursor: false when entries were missed and are not replayed. */
  readonly recovered: boolean | undefined
  /** False: the topic has no presence (LL-PRESENCE-6), so its member list stays empty. */
  readonly presence: boolean
  /**
   * The topic's app memento now (LL-APPM-8): as of the join point for a first or unrecovered join, so
   * the app loads its history up to there; with `recovered: false`, compare it with the value you had.
   */
  readonly appMemento: unknown
  /** Entries of this join's incarnation after this seq follow (LL-TOPIC-2). */
  readonly seq: number
}

/**
 * Entries of one stream may be missing before the next one delivered: resync that stream from your
 * own storage (LL-RESUME-12, LL-TOPIC-2). Emitted once per stream and loss, after `unrecovered`.
 */
export interface GapEvent {
  /** The topic, or undefined for the direct stream. */
  readonly topic: string | undefined
  readonly reason: UnrecoveredReason
  /** Entries after this seq follow. */
  readonly seq: number
}

export interface ClientEvents extends Record<string, unknown> {
  status: ClientStatus
  message: InboundMessage
  presence: PresenceChange
  session: SessionEvent
  unrecovered: UnrecoveredEvent
  gap: GapEvent
  joined: JoinedEvent
  joinError: { readonly topic: string; readonly code: number; readonly reason: string }
  unjoined: { readonly topic: string; readonly code: number | undefined; readonly reason: string | undefined }
  /** The number of sends not yet acked changed. */
  pending: number
  /**
   * A send settled: acked (`error` undefined), rejected, dropped, failed, or of unknown outcome
   * (`OutcomeUnknownError`, LL-SEND-10). The only news of a send a reload kept: it has no promise.
   */
  settled: { readonly id: string; readonly topic: string | undefined; readonly error: Error | undefined }
  /**
   * The storage could not keep these pending sends (LL-SEND-9): they still go out, but a reload now
   * would lose them. Empty when it holds them all again.
   */
  unsaved: { readonly ids: readonly string[] }
  /** Sends the page before a reload had but its storage could not keep: they were not sent again. */
  sendsLost: { readonly ids: readonly string[] }
  /** A non-fatal problem: a server error frame, a protocol error that dropped the link. */
  error: Error
}

export interface SendOptions {
  readonly topic?: string
  /** A stable id of your own (for example from a durable outbox); must be unique per client. */
  readonly id?: string
}
