/**
 * The demo chat application, as LifelineServer hooks: who you are (a name), which rooms you may join
 * (`room:*`), and what a chat message is (`{ text }`, published to the room with its id).
 */
import { PublicError } from '@lifeline/core'
import type { Identity, IncomingMessage, LifelineServer, SessionHandle } from '@lifeline/core/server'
import { ChatHistory } from './history.js'

export const MAX_NAME_LENGTH = 32
export const MAX_TEXT_LENGTH = 500
export const ROOM_PREFIX = 'room:'

/** What every subscriber of a room receives for each chat message. */
export interface ChatMessage {
  /** The client's message id: unique per client, the same on every redelivery. */
  readonly id: string
  readonly from: string
  readonly text: string
  /** Milliseconds since the epoch, when the server processed it. */
  readonly at: number
}

/** Letters, marks, digits, punctuation, symbols and spaces: no control or format characters. */
const PRINTABLE = /^[\p{L}\p{M}\p{N}\p{P}\p{S}\p{Zs}]+$/u

const length = (text: string): number => [...text].length

/** hello.auth is `{ name }`: 1 to 32 printable characters once trimmed. Throws to refuse. */
export function authenticate(auth: unknown): Identity {
  const name = (auth as { name?: unknown } | null | undefined)?.name
  if (typeof name !== 'string') throw new PublicError('auth must be { name: string }')
  const trimmed = name.trim()
  if (length(trimmed) < 1 || length(trimmed) > MAX_NAME_LENGTH) {
    throw new PublicError(`name must be 1 to ${MAX_NAME_LENGTH} characters`)
  }
  if (!PRINTABLE.test(trimmed)) throw new PublicError('name must be printable characters')
  return { subject: trimmed, meta: { name: trimmed } }
}

export function isRoom(topic: string): boolean {
  return topic.startsWith(ROOM_PREFIX) && topic.length > ROOM_PREFIX.length
}

export function onJoin(topic: string): boolean {
  return isRoom(topic)
}

function nameOf(session: SessionHandle): string {
  const name = (session.meta as { name?: unknown } | undefined)?.name
  return typeof name === 'string' ? name : session.subject
}

/**
 * Validates a chat message; throws (the client's send is rejected, LL-SEND-5) when it is not one.
 * Writing to a room takes the right to join it (`onJoin`: any room here), not a membership: in a new
 * session a client resends what was pending before it rejoins its rooms (LL-RESUME-6), and a message
 * typed offline must not be refused for that.
 */
export function chatText(message: IncomingMessage, _session?: SessionHandle): string {
  const { topic, data } = message
  if (topic === undefined || !onJoin(topic)) throw new PublicError('messages go to a room:* topic')
  const text = (data as { text?: unknown } | null | undefined)?.text
  if (typeof text !== 'string') throw new PublicError('data must be { text: string }')
  const trimmed = text.trim()
  if (length(trimmed) < 1 || length(trimmed) > MAX_TEXT_LENGTH) {
    throw new PublicError(`text must be 1 to ${MAX_TEXT_LENGTH} characters`)
  }
  return trimmed
}

/**
 * The onMessage hook: stores the message in the room's history, publishes it to the room with the
 * room's app memento `{ upTo: n }` (LL-APPM-6), then the client gets its ack (LL-SEND-4).
 */
export function chatHandler(
  server: () => LifelineServer,
  history: ChatHistory = new ChatHistory(),
  now: () => number = Date.now,
) {
  return async (message: IncomingMessage, session: SessionHandle): Promise<void> => {
    const text = chatText(message, session)
    const topic = message.topic as string
    // Stored and published in one tick, so the numbers follow the room's order.
    const stored = history.append(topic, { id: message.id, from: nameOf(session), text, at: now() })
    // Keyed by the client's message id: processed again on another node after this one died, it is
    // published once (LL-NODE-8).
    const id = `${session.subject}\u0000${message.id}`
    await server().publish(topic, stored, { appMemento: { upTo: stored.n }, id })
  }
}
