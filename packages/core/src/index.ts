/**
 * @lifeline/core: the client (browser-safe) and the shared contracts. The server is in
 * `@lifeline/core/server`, test tools in `@lifeline/core/testing`.
 */
export { fullJitter, type RetryContext, type RetryDelay, retryAfterDelay } from './client/backoff.js'
export { createClient, LifelineClient } from './client/client.js'
export {
  browserEnvironment,
  type ClientEnvironment,
  type EnvironmentHandlers,
  inertEnvironment,
} from './client/environment.js'
export type {
  ClientEvents,
  ClientStatus,
  GapEvent,
  InboundMessage,
  JoinedEvent,
  PresenceChange,
  SendOptions,
  SessionEvent,
  UnrecoveredEvent,
} from './client/events.js'
export type { AuthOption, ClientOptions, DroppedMessage } from './client/options.js'
export type { OutboxLimits, OverflowPolicy } from './client/outbox.js'
export {
  memoryStorage,
  type SessionStorage,
  type StoredSend,
  type StoredSession,
  type SyncSessionStorage,
  saveKeeping,
  type WebStorageLike,
  webStorage,
} from './client/storage.js'
export type { MemberInfo } from './client/topics.js'
export {
  type FallbackPolicyOptions,
  fallbackPolicy,
  type TransportChoice,
  type TransportPolicy,
} from './client/transports.js'
export { type Clock, type Random, systemClock, systemRandom, type TimerHandle } from './clock.js'
export {
  BufferOverflowError,
  ConnectionClosedError,
  JoinError,
  LifelineError,
  MaxAttemptsError,
  MessageTooDeepError,
  MessageTooLargeError,
  OutcomeUnknownError,
  PublicError,
  SendRejectedError,
  ServerClosedError,
} from './errors.js'
export { consoleLogger, type LogFields, type Logger, silentLogger } from './logger.js'
export {
  type ClientTransport,
  type CloseInfo,
  type ConnectionInfo,
  closeReason,
  type Encoding,
  type ListenContext,
  type Payload,
  type ServerConnectionHandlers,
  type ServerTransport,
  type ServerTransportConnection,
  type TransportConnection,
  type TransportHandlers,
} from './transport.js'
