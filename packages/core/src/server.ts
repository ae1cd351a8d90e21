/** @lifeline/core/server: the session manager, stores and buses. Node only (uses node:crypto). */
export type { EndReason, ServerEvents } from './server/core.js'
export { type DedupBounds, DedupWindow } from './server/dedup-window.js'
export { type MementoClaims, MementoSigner, type MementoSignerOptions } from './server/memento.js'
export { MemoryBus, MemoryStore, type MemoryStoreOptions } from './server/memory-store.js'
export type {
  AuthContext,
  Identity,
  IncomingMessage,
  RecoverContext,
  ResumeLimitContext,
  ServerOptions,
  SessionHandle,
} from './server/options.js'
export { type LogBounds, type LogEntry, ReplayLog } from './server/replay-log.js'
export {
  createServer,
  LifelineServer,
  type PublishOptions,
  type ServerStats,
  type ShutdownOptions,
} from './server/server.js'
export type { EndReason as SessionEndReason, SessionPhase, SessionState } from './server/session-machine.js'
export {
  type AppendOptions,
  type Bus,
  type Claim,
  type ClaimPurpose,
  type ClaimResult,
  type DedupInfo,
  directStream,
  type EndedReason,
  type EntryFrame,
  type NodeReply,
  type NodeRequest,
  type SessionRecord,
  type SessionStore,
  type StoredMember,
  type StreamEntry,
  type StreamHead,
  type StreamName,
  type StreamRead,
  topicStream,
} from './server/store.js'
