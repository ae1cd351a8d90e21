export { type CloseAction, CloseCode, closeCodeAction, closeCodeName } from './close-codes.js'
export {
  type DecodeOptions,
  decodeClientFrame,
  decodeClientFrames,
  decodeServerFrame,
  decodeServerFrames,
  encode,
  exceedsBytes,
  validateClientFrame,
  validateServerFrame,
} from './codec.js'
export { LifelineError, ProtocolError, type ProtocolErrorKind } from './errors.js'
export type {
  ClientAck,
  ClientBye,
  ClientFrame,
  ClientFrameType,
  ErrorFrame,
  Hello,
  Join,
  JoinError,
  Joined,
  Leave,
  Limits,
  LostStreams,
  Member,
  MementoUpdate,
  Msg,
  Ping,
  Pong,
  Presence,
  PresenceEvent,
  ResumeRequest,
  Send,
  ServerAck,
  ServerBye,
  ServerFrame,
  ServerFrameType,
  Unjoined,
  UnrecoveredReason,
  Welcome,
} from './frames.js'
export { RULES, type RuleId } from './generated/rules.js'
export { exceedsDepth, type JsonShape, jsonShape, valueExceedsDepth } from './json-shape.js'
export {
  DEFAULT_MAX_FRAME_BYTES,
  MAX_APP_MEMENTO_LENGTH,
  MAX_BATCH_FRAMES,
  MAX_MEMENTO_LENGTH,
  MAX_MESSAGE_ID_LENGTH,
  MAX_NESTING_DEPTH,
  MAX_RESUME_TOPICS,
  MAX_SUBJECT_BYTES,
} from './limits.js'
export { PROTOCOL_VERSION, SUPPORTED_VERSIONS } from './version.js'
