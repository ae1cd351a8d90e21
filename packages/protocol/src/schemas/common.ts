import { type TSchema, Type } from '@sinclair/typebox'

/** Base URL of the published JSON Schema files; each schema's `$id` is relative to it. */
export const SCHEMA_BASE = 'https://lifeline.dev/spec/v1/'

/** A topic name: 1–200 printable ASCII characters, no spaces (safe as a NATS subject token once encoded). */
export const topic = (description = 'Topic name: 1-200 printable ASCII characters (0x21-0x7E), no spaces.') =>
  Type.String({ minLength: 1, maxLength: 200, pattern: '^[!-~]{1,200}$', description })
export const Topic = topic()

/** A sequence number. 0 means "nothing yet"; the first message of a stream has seq 1. */
export const seq = (description = 'Sequence number, 0 = nothing yet; the first message of a stream is 1.') =>
  Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER, description })
export const Seq = seq()

/** A sequence number of a message itself (never 0). */
export const messageSeq = (description = 'Sequence number of a message in its stream; starts at 1.') =>
  Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER, description })
export const MessageSeq = messageSeq()

/** Any JSON value: the application's payload, never inspected by the protocol. */
export const Data = Type.Unknown({ description: 'Application payload: any JSON value.' })

/** A close or error code from the CloseCode table (PROTOCOL.md, "Codes"). */
export const Code = Type.Integer({
  minimum: 1000,
  maximum: 4999,
  description: 'A code from the CloseCode table (PROTOCOL.md, "Codes").',
})

/** A millisecond duration. */
export const millis = (description = 'Milliseconds.') =>
  Type.Integer({ minimum: 0, maximum: 2_147_483_647, description })
export const Millis = millis()

/** A short human-readable text (close reasons, error messages). */
/**
 * Informational text. No length limit of its own (maxFrameBytes bounds it): JSON Schema counts code
 * points and most languages count UTF-16 units, so a limit would make conforming decoders disagree.
 */
export const Reason = Type.String({
  description: 'Human-readable text; senders keep it under 256 characters.',
})

/** Tokens and ids are printable ASCII, so their length is the same in every unit of every language. */
export const ASCII_TOKEN = '^[!-~]+$'

/** An opaque server-issued token (memento or app memento). Clients store and return it untouched. */
export const OpaqueToken = (description: string, maxLength: number) =>
  Type.String({ minLength: 1, maxLength, pattern: ASCII_TOKEN, description })

/** A stream incarnation (LL-EPOCH-1): printable ASCII, so it means the same bytes everywhere. */
export const epoch = (
  description = 'Incarnation of a topic stream (LL-EPOCH-1): seqs of one mean nothing in another.',
) => Type.String({ minLength: 1, maxLength: 64, pattern: ASCII_TOKEN, description })
export const Epoch = epoch()

/** Names a frame schema for the generated JSON Schema and the codec's dispatch table. */
export const frame = <T extends TSchema>(name: string, schema: T): T => {
  schema.$id = `${SCHEMA_BASE}${name}.json`
  schema.title = name
  return schema
}
