/**
 * Every close and error code of the protocol (PROTOCOL.md, "Codes"). The range says what a client does
 * (LL-INTENT-4): 4000–4099 fatal, never reconnect; 4100–4199 reconnect with backoff; 4200–4299 reconnect
 * now (or after the server's retryAfterMs); 4300–4399 errors reported in a frame, the connection stays.
 */
export const CloseCode = {
  /** The peer sent a malformed, invalid or unexpected frame. */
  PROTOCOL_ERROR: 4000,
  /** No protocol version in common. */
  UNSUPPORTED_VERSION: 4001,
  /** A frame exceeded limits.maxFrameBytes. */
  FRAME_TOO_LARGE: 4002,
  /** Authentication failed, on a first hello or a resume. */
  UNAUTHORIZED: 4003,
  /** Not allowed: origin not in the allowlist, or the subject may not connect. */
  FORBIDDEN: 4004,
  /** The server app ended the session. */
  KICKED: 4005,
  /** Another connection resumed this session; this one must not fight back (LL-RESUME-8). */
  SESSION_REPLACED: 4006,
  /** The session ended at the client's request (answer to a client bye). */
  SESSION_ENDED: 4007,
  /** Authentication gave a subject the protocol cannot carry (LL-AUTH-6). */
  INVALID_SUBJECT: 4008,
  /** Unexpected server failure. */
  INTERNAL_ERROR: 4100,
  /** The server is at capacity. */
  OVERLOADED: 4101,
  /** Too many connection or resume attempts. */
  RATE_LIMITED: 4102,
  /** No hello arrived within the server's hello timeout. */
  HELLO_TIMEOUT: 4103,
  /** The subject has too many sessions. */
  TOO_MANY_SESSIONS: 4104,
  /** The client kept sending while its unprocessed sends exceeded the server's bound (LL-LIMIT-7). */
  BACKLOG_OVERFLOW: 4105,
  /** The server is shutting down or draining; bye may carry retryAfterMs and jitterMs. */
  GOING_AWAY: 4200,
  /** The server heard nothing within heartbeatMs + heartbeatTimeoutMs. */
  HEARTBEAT_TIMEOUT: 4201,
  /** The server's send buffer for this connection overflowed; resume to catch up by replay. */
  SLOW_CONSUMER: 4202,
  /** A newer connection of the same client instance took the session over (LL-RESUME-8). */
  SUPERSEDED: 4203,
  /** The server app rejected a sent message (error frame with ref). */
  REJECTED: 4300,
  /** The server app refused a join. */
  JOIN_DENIED: 4301,
  /** The session reached limits.maxTopics. */
  TOO_MANY_TOPICS: 4302,
  /** The join failed for a reason other than a refusal; the client may try again later. */
  JOIN_FAILED: 4303,
  /** The server removed the session from a topic. */
  REMOVED: 4304,
} as const

export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode]

/** What a client does when a connection ends with a code (LL-INTENT-4). */
export type CloseAction = 'fatal' | 'backoff' | 'reconnect' | 'none'

/**
 * The action for any code, including ones this version does not name: standard WebSocket codes
 * (1000–3999) and unknown codes outside the ranges are an unexpected drop, so `backoff`.
 */
export function closeCodeAction(code: number): CloseAction {
  if (code >= 4000 && code < 4100) return 'fatal'
  if (code >= 4200 && code < 4300) return 'reconnect'
  if (code >= 4300 && code < 4400) return 'none'
  return 'backoff'
}

const names = new Map<number, string>(Object.entries(CloseCode).map(([name, code]) => [code, name]))

/** The code's name (e.g. `KICKED`), or undefined for a code this version does not define. */
export function closeCodeName(code: number): string | undefined {
  return names.get(code)
}
