import { ProtocolError } from './errors.js'
import type { ClientFrame, ServerFrame } from './frames.js'
import { checkClientFrame, checkServerFrame } from './generated/validators.js'
import { exceedsDepth, valueExceedsDepth } from './json-shape.js'
import { DEFAULT_MAX_FRAME_BYTES, MAX_BATCH_FRAMES, MAX_NESTING_DEPTH } from './limits.js'

export interface DecodeOptions {
  /** Largest input accepted, in UTF-8 bytes, checked before parsing. Default: 1 MiB (LL-LIMIT-1). */
  maxBytes?: number
}

type Checker = (type: string, value: unknown) => boolean | undefined

/** Serialises one frame, or a batch of frames (LL-WS-2), to the text carried by a transport. */
export function encode(frame: ClientFrame | ServerFrame | ReadonlyArray<ClientFrame | ServerFrame>): string {
  return JSON.stringify(frame)
}

/** True when text takes more than max bytes as UTF-8, counting only when the length cannot decide. */
export function exceedsBytes(text: string, max: number): boolean {
  if (text.length > max) return true
  if (text.length * 3 <= max) return false
  let bytes = 0
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i)
    if (unit < 0x80) bytes += 1
    else if (unit < 0x800) bytes += 2
    else if (unit >= 0xd800 && unit <= 0xdbff && i + 1 < text.length) {
      bytes += 4 // a surrogate pair is one 4-byte code point
      i++
    } else bytes += 3
    if (bytes > max) return true
  }
  return false
}

function checkValue<F>(value: unknown, check: Checker): F | ProtocolError {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return new ProtocolError('invalid', 'a frame must be a JSON object')
  }
  const type = (value as { type?: unknown }).type
  if (typeof type !== 'string') return new ProtocolError('invalid', 'a frame needs a string "type"')
  const valid = check(type, value)
  if (valid === undefined) {
    return new ProtocolError('unknown-type', `unknown frame type "${type.slice(0, 32)}"`, { frameType: type })
  }
  if (!valid)
    return new ProtocolError('invalid', `"${type}" frame does not match its schema`, { frameType: type })
  return value as F
}

function parse(text: string, options: DecodeOptions | undefined): unknown {
  const max = options?.maxBytes ?? DEFAULT_MAX_FRAME_BYTES
  if (exceedsBytes(text, max)) return new ProtocolError('too-large', `frame exceeds ${max} bytes`)
  // LL-LIMIT-8: before parsing, so a deep value is never built.
  if (exceedsDepth(text)) return tooDeep()
  try {
    return JSON.parse(text)
  } catch (cause) {
    return new ProtocolError('malformed', 'frame is not valid JSON', { cause })
  }
}

function decodeOne<F>(text: string, check: Checker, options: DecodeOptions | undefined): F | ProtocolError {
  const value = parse(text, options)
  return value instanceof ProtocolError ? value : checkValue<F>(value, check)
}

function decodeMany<F>(
  text: string,
  check: Checker,
  options: DecodeOptions | undefined,
): readonly F[] | ProtocolError {
  const value = parse(text, options)
  if (value instanceof ProtocolError) return value
  if (!Array.isArray(value)) {
    const frame = checkValue<F>(value, check)
    return frame instanceof ProtocolError ? frame : [frame]
  }
  if (value.length === 0 || value.length > MAX_BATCH_FRAMES) {
    return new ProtocolError('invalid', `a batch holds 1 to ${MAX_BATCH_FRAMES} frames`)
  }
  const frames: F[] = []
  for (const item of value) {
    const frame = checkValue<F>(item, check)
    if (frame instanceof ProtocolError) return frame
    frames.push(frame)
  }
  return frames
}

/** Decodes one frame sent by a client. Never throws: bad input yields a ProtocolError. */
export function decodeClientFrame(text: string, options?: DecodeOptions): ClientFrame | ProtocolError {
  return decodeOne<ClientFrame>(text, checkClientFrame, options)
}

/** Decodes one frame sent by a server. Never throws: bad input yields a ProtocolError. */
export function decodeServerFrame(text: string, options?: DecodeOptions): ServerFrame | ProtocolError {
  return decodeOne<ServerFrame>(text, checkServerFrame, options)
}

/** Decodes a transport message from a client: one frame or a batch (LL-WS-2). */
export function decodeClientFrames(
  text: string,
  options?: DecodeOptions,
): readonly ClientFrame[] | ProtocolError {
  return decodeMany<ClientFrame>(text, checkClientFrame, options)
}

/** Decodes a transport message from a server: one frame or a batch (LL-WS-2). */
export function decodeServerFrames(
  text: string,
  options?: DecodeOptions,
): readonly ServerFrame[] | ProtocolError {
  return decodeMany<ServerFrame>(text, checkServerFrame, options)
}

/** Validates an already-parsed client frame (transports that carry objects, such as Socket.IO). */
export function validateClientFrame(value: unknown): ClientFrame | ProtocolError {
  if (valueExceedsDepth(value)) return tooDeep()
  return checkValue<ClientFrame>(value, checkClientFrame)
}

/** Validates an already-parsed server frame (transports that carry objects, such as Socket.IO). */
export function validateServerFrame(value: unknown): ServerFrame | ProtocolError {
  if (valueExceedsDepth(value)) return tooDeep()
  return checkValue<ServerFrame>(value, checkServerFrame)
}

const tooDeep = () => new ProtocolError('too-deep', `nested deeper than ${MAX_NESTING_DEPTH}`)
