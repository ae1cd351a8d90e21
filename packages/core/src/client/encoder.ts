/**
 * Turns an app's send into what goes on the wire: its data encoded once, the checks a frame must pass
 * before it is queued (LL-SEND-6, LL-FRAME-8), and the send frame itself, built around the data's JSON
 * so it is never encoded twice.
 */
import { exceedsBytes, exceedsDepth, MAX_NESTING_DEPTH, type Send } from '@lifeline/protocol'
import { MessageTooDeepError, MessageTooLargeError } from '../errors.js'
import type { OutgoingMessage } from './outbox.js'

export const TOPIC_PATTERN = /^[!-~]{1,200}$/
const ID_PATTERN = /^[!-~]{1,128}$/
/** Room for the send frame around its data: type, seq, id and topic members. */
const SEND_OVERHEAD = 64

/** The data as JSON, or the reason it cannot be sent. */
export function encodeData(data: unknown, topic: string | undefined, id: string | undefined): string | Error {
  let json: string | undefined
  try {
    json = JSON.stringify(data)
  } catch (cause) {
    return new TypeError('data must be a JSON value', { cause })
  }
  if (json === undefined) return new TypeError('data must be a JSON value')
  // LL-LIMIT-8: the send frame and a batch around it take two levels.
  if (exceedsDepth(json, MAX_NESTING_DEPTH - 2)) return new MessageTooDeepError(MAX_NESTING_DEPTH - 2)
  if (topic !== undefined && !TOPIC_PATTERN.test(topic))
    return new TypeError(`invalid topic ${JSON.stringify(topic)}`)
  if (id !== undefined && !ID_PATTERN.test(id)) {
    return new TypeError('a message id is 1-128 printable ASCII characters (LL-FRAME-8)')
  }
  return json
}

/** LL-SEND-6: a frame over the server's limit in UTF-8 is refused locally, never sent. */
export function tooLarge(
  json: string,
  id: string,
  topic: string | undefined,
  maxFrameBytes: number,
): MessageTooLargeError | undefined {
  const budget = maxFrameBytes - SEND_OVERHEAD - id.length - (topic?.length ?? 0)
  return exceedsBytes(json, budget) ? new MessageTooLargeError(json.length, maxFrameBytes) : undefined
}

/** The send frame as text, around the data's JSON (the hot path of client sends). */
export function sendText(message: OutgoingMessage): string {
  const topic = message.topic === undefined ? '' : `,"topic":${JSON.stringify(message.topic)}`
  return `{"type":"send","seq":${message.seq},"id":${JSON.stringify(message.id)}${topic},"data":${message.json}}`
}

/** The send frame as an object, for transports that carry objects. */
export function sendFrame(message: OutgoingMessage): Send {
  const frame: Send = { type: 'send', seq: message.seq, id: message.id, data: message.data }
  if (message.topic !== undefined) frame.topic = message.topic
  return frame
}
