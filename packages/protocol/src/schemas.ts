/**
 * The TypeBox schemas of every frame: the single source of spec/schema/*.json and of the codec's
 * validators. Import from `@lifeline/protocol/schemas` (this entry pulls in TypeBox; the main entry
 * does not).
 */

export {
  ClientAck,
  ClientBye,
  ClientFrames,
  Hello,
  Join,
  Leave,
  ResumeRequest,
  Send,
} from './schemas/client.js'
export { Code, Data, MessageSeq, Millis, Reason, SCHEMA_BASE, Seq, Topic } from './schemas/common.js'
export {
  ErrorFrame,
  JoinError,
  Joined,
  Limits,
  LostStreams,
  Member,
  MemberState,
  MementoUpdate,
  Msg,
  Presence,
  PresenceEvent,
  ServerAck,
  ServerBye,
  ServerFrames,
  SessionId,
  Unjoined,
  UnrecoveredReason,
  Welcome,
} from './schemas/server.js'
export { Ping, Pong } from './schemas/shared.js'
