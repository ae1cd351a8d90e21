import { closeCodeName, LifelineError } from '@lifeline/protocol'

export { LifelineError }

/** The send could not be delivered: the client closed, or a fatal code ended the session. */
export class ConnectionClosedError extends LifelineError {
  override name = 'ConnectionClosedError'
  constructor(
    message: string,
    readonly code: number,
    options?: ErrorOptions,
  ) {
    super(message, options)
  }
}

/** The server app rejected the message (LL-SEND-5). It was not, and will not be, resent. */
export class SendRejectedError extends LifelineError {
  override name = 'SendRejectedError'
  constructor(
    readonly code: number,
    readonly reason: string,
  ) {
    super(`server rejected the message: ${reason}`)
  }
}

/** The offline buffer was full and its overflow policy dropped or refused this message (LL-SEND-7). */
export class BufferOverflowError extends LifelineError {
  override name = 'BufferOverflowError'
  constructor(
    message: string,
    readonly policy: 'reject' | 'drop-oldest' | 'drop-newest',
  ) {
    super(message)
  }
}

/** The message is larger than the server's maxFrameBytes (LL-SEND-6); it was never sent. */
export class MessageTooLargeError extends LifelineError {
  override name = 'MessageTooLargeError'
  constructor(
    readonly bytes: number,
    readonly maxBytes: number,
  ) {
    super(`message of ${bytes} bytes exceeds the server's limit of ${maxBytes}`)
  }
}

/**
 * A send whose outcome cannot be known (LL-SEND-10): it was written before the server lost the
 * de-duplication window that would have told a resend apart, so it may or may not have been
 * processed; resending could process it twice. Check with your own data, then send again if needed.
 */
export class OutcomeUnknownError extends LifelineError {
  override name = 'OutcomeUnknownError'
  constructor(
    readonly id: string,
    options?: ErrorOptions,
  ) {
    super(`the outcome of send ${id} is unknown: the server lost its de-duplication window`, options)
  }
}

/**
 * The message nests arrays and objects deeper than the protocol allows (LL-LIMIT-8); it was never
 * sent, or never published: its receivers would have refused it.
 */
export class MessageTooDeepError extends LifelineError {
  override name = 'MessageTooDeepError'
  constructor(readonly maxDepth: number) {
    super(`message nests deeper than ${maxDepth} levels`)
  }
}

/** The server ended the connection with a fatal code (LL-INTENT-2): kicked, unauthorized, replaced... */
export class ServerClosedError extends LifelineError {
  override name = 'ServerClosedError'
  /** The code's name, e.g. `KICKED`. */
  readonly codeName: string
  constructor(
    readonly code: number,
    readonly reason: string,
    options?: ErrorOptions,
  ) {
    const codeName = closeCodeName(code) ?? `CODE_${code}`
    super(`server closed the session: ${codeName}${reason === '' ? '' : ` (${reason})`}`, options)
    this.codeName = codeName
  }
}

/** The client gave up after `maxAttempts` failed attempts (LL-CLIENT-2). */
export class MaxAttemptsError extends LifelineError {
  override name = 'MaxAttemptsError'
  constructor(
    readonly attempts: number,
    options?: ErrorOptions,
  ) {
    super(`gave up after ${attempts} failed connection attempts`, options)
  }
}

/** A topic could not be joined (LL-TOPIC-1); other topics are unaffected. */
export class JoinError extends LifelineError {
  override name = 'JoinError'
  constructor(
    readonly topic: string,
    readonly code: number,
    readonly reason: string,
  ) {
    super(`could not join ${topic}: ${reason}`)
  }
}

/**
 * A refusal the server app means the client to read: throw it from `authenticate`, `onMessage` or
 * `onJoin`, and its message is the reason the client gets. Any other error reaches the client as a
 * generic reason (`unauthorized`, `rejected`, `join failed`) and is logged, so internals never leak.
 */
export class PublicError extends LifelineError {
  override name = 'PublicError'
}
