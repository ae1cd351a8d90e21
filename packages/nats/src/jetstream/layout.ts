/**
 * Where the JetStream store keeps things: stream, bucket and subject names derived from one name
 * (default `LIFELINE`), and the encoding of stream entries in JetStream messages.
 */
import { createHash } from 'node:crypto'
import type { StreamEntry, StreamName } from '@lifeline/core/server'
import type { Consumer, JsMsg } from '@nats-io/jetstream'

export interface Layout {
  /** `<NAME>_RECORDS`: session records (LL-GRACE-1), a subject per session and ownership term. */
  readonly records: string
  /** `<NAME>_MEMBERS`: topic members of every node (LL-NODE-7), a subject per topic and session. */
  readonly members: string
  /** `<NAME>_IDS`: client message ids processed (LL-SEND-3, LL-NODE-8), a subject per id. */
  readonly ids: string
  /** `<NAME>_DIRECT`: every session's direct stream, one subject each. */
  readonly direct: string
  /** Subject root of everything the store publishes. */
  readonly root: string
}

export function layout(name: string): Layout {
  if (!/^[A-Za-z0-9_-]{1,32}$/.test(name))
    throw new TypeError(
      `@lifeline/nats/jetstream: name must be 1-32 of A-Z a-z 0-9 _ -, got ${JSON.stringify(name)}`,
    )
  return {
    records: `${name}_RECORDS`,
    members: `${name}_MEMBERS`,
    ids: `${name}_IDS`,
    direct: `${name}_DIRECT`,
    root: `${name.toLowerCase()}-store`,
  }
}

/** A token safe in subjects, stream names and KV keys: the id itself when it is one, else its hash. */
export function token(id: string): string {
  return /^[A-Za-z0-9_-]{1,64}$/.test(id) ? id : `h${digest(id)}`
}

export function digest(text: string): string {
  return createHash('sha256').update(text).digest('base64url').slice(0, 32)
}

export type Place =
  /** `subject` carries messages; `presence`, the topic's presence entries, bounded apart (LL-PRESENCE-5). */
  | {
      readonly kind: 'topic'
      readonly stream: string
      readonly subject: string
      readonly presence: string
      readonly id: string
    }
  | { readonly kind: 'direct'; readonly stream: string; readonly subject: string }

/**
 * Topics get one JetStream stream each: its sequence is the topic's seq, assigned atomically by the
 * stream leader (LL-SEQ-1) whichever node appends, with the log's bounds as the stream's limits.
 * Direct streams share one JetStream stream, a subject each; their single writer numbers them.
 */
export function place(l: Layout, name: string, stream: StreamName): Place {
  if (stream.startsWith('t:')) {
    const topic = stream.slice(2)
    const id = `T${digest(topic)}`
    return {
      kind: 'topic',
      stream: `${name}_${id}`,
      subject: `${l.root}.t.${id}`,
      presence: `${l.root}.t.${id}.p`,
      id,
    }
  }
  if (stream.startsWith('d:'))
    return { kind: 'direct', stream: l.direct, subject: `${l.root}.d.${token(stream.slice(2))}` }
  throw new TypeError(`@lifeline/nats/jetstream: unknown stream ${JSON.stringify(stream)}`)
}

/** The header naming the session that must not receive an entry (LL-SEQ-4). */
export const EXCEPT_HEADER = 'Lifeline-Except'

/**
 * A stored entry back as the core's: the seq is the one the store assigned (a topic's JetStream
 * sequence), set in the frame and in its text, which is encoded once per node.
 */
export function entryOf(seq: number, epoch: string, text: string, except: string | undefined): StreamEntry {
  const parsed = JSON.parse(text) as StreamEntry['frame']
  const frame = parsed.seq === seq ? parsed : { ...parsed, seq }
  const encoded = parsed.seq === seq ? text : JSON.stringify(frame)
  return except === undefined
    ? { seq, epoch, frame, text: encoded }
    : { seq, epoch, frame, text: encoded, except }
}

/**
 * A JetStream stream's incarnation (LL-EPOCH-1): its creation time, which changes when the stream is
 * deleted and made again (its sequence then starts again at 1).
 */
export const epochOf = (info: { readonly created: string }): string => `js.${info.created}`

export const nanos = (ms: number): number => Math.round(ms * 1_000_000)

/** How long a fetch may take before it is abandoned and retried. */
const FETCH_DEADLINE_MS = 4000

/**
 * Fetches up to `count` messages of an ordered consumer, passing each to `each` until it returns
 * true. An ordered consumer whose nats-server died never ends its fetch (nats.js keeps asking for the
 * gone consumer's info): past a deadline the fetch is stopped and fails with a TimeoutError, which the
 * store retries with a new consumer.
 */
export async function fetchAll(
  consumer: Consumer,
  count: number,
  each: (msg: JsMsg) => boolean,
): Promise<void> {
  const messages = await consumer.fetch({ max_messages: count, expires: 2000 })
  let late = false
  const timer = setTimeout(() => {
    late = true
    messages.stop()
  }, FETCH_DEADLINE_MS)
  try {
    for await (const msg of messages) if (each(msg)) break
  } finally {
    clearTimeout(timer)
  }
  if (late) {
    const error = new Error(`a JetStream fetch took over ${FETCH_DEADLINE_MS} ms`)
    error.name = 'TimeoutError'
    throw error
  }
}
