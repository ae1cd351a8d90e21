import { CloseCode } from './close-codes.js'

/** Base class of every error Lifeline raises or returns. */
export class LifelineError extends Error {
  override name = 'LifelineError'
}

/** Why a frame was refused by the codec. */
export type ProtocolErrorKind = 'too-large' | 'too-deep' | 'malformed' | 'invalid' | 'unknown-type'

/**
 * A frame the codec refused. Returned (never thrown) by the decoders; `code` is the close code a
 * receiver uses when it closes the connection over it (LL-FRAME-5).
 */
export class ProtocolError extends LifelineError {
  override name = 'ProtocolError'
  readonly kind: ProtocolErrorKind
  readonly code: CloseCode
  /** The frame's `type`, when the input got far enough to have one. */
  readonly frameType: string | undefined

  constructor(
    kind: ProtocolErrorKind,
    message: string,
    options: { frameType?: string; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.kind = kind
    this.code = kind === 'too-large' ? CloseCode.FRAME_TOO_LARGE : CloseCode.PROTOCOL_ERROR
    this.frameType = options.frameType
  }
}
