import type { ClientAck, ClientBye, Hello, Join, Leave, ResumeRequest, Send } from './schemas/client.js'
import type {
  ErrorFrame,
  JoinError,
  Joined,
  Limits,
  LostStreams,
  Member,
  MementoUpdate,
  Msg,
  Presence,
  PresenceEvent,
  ServerAck,
  ServerBye,
  Unjoined,
  UnrecoveredReason,
  Welcome,
} from './schemas/server.js'
import type { Ping, Pong } from './schemas/shared.js'

/** Every frame a client sends. */
export type ClientFrame = Hello | Send | ClientAck | Join | Leave | Ping | Pong | ClientBye

/** Every frame a server sends. */
export type ServerFrame =
  | Welcome
  | Msg
  | ServerAck
  | Joined
  | JoinError
  | Unjoined
  | Presence
  | MementoUpdate
  | ErrorFrame
  | Ping
  | Pong
  | ServerBye

export type ClientFrameType = ClientFrame['type']
export type ServerFrameType = ServerFrame['type']

export type {
  ClientAck,
  ClientBye,
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
  Unjoined,
  UnrecoveredReason,
  Welcome,
}
