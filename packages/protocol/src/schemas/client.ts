import { type Static, Type } from '@sinclair/typebox'
import {
  MAX_APP_MEMENTO_LENGTH,
  MAX_MEMENTO_LENGTH,
  MAX_MESSAGE_ID_LENGTH,
  MAX_RESUME_TOPICS,
} from '../limits.js'
import {
  ASCII_TOKEN,
  Data,
  Epoch,
  epoch,
  frame,
  messageSeq,
  OpaqueToken,
  Reason,
  Seq,
  seq,
  Topic,
  topic,
} from './common.js'
import { Ping, Pong } from './shared.js'

export const ResumeRequest = Type.Object(
  {
    memento: OpaqueToken('The last memento the server issued, untouched.', MAX_MEMENTO_LENGTH),
    seq: seq('Highest direct-stream seq the client has delivered to its app.'),
    topics: Type.Optional(
      Type.Record(Topic, Seq, {
        additionalProperties: false,
        maxProperties: MAX_RESUME_TOPICS,
        description: 'Highest seq delivered to the app, per joined topic.',
      }),
    ),
    epochs: Type.Optional(
      Type.Record(Topic, Epoch, {
        additionalProperties: false,
        maxProperties: MAX_RESUME_TOPICS,
        description: 'The incarnation of each cursor in topics (LL-EPOCH-2).',
      }),
    ),
  },
  { description: 'Present when the client holds a memento and asks to resume its session.' },
)

export const Hello = frame(
  'Hello',
  Type.Object(
    {
      type: Type.Literal('hello'),
      versions: Type.Array(Type.Integer({ minimum: 1, maximum: 65535 }), {
        minItems: 1,
        maxItems: 16,
        description: 'Protocol versions the client speaks, preferred first.',
      }),
      cid: Type.Optional(
        Type.String({
          minLength: 1,
          maxLength: 64,
          pattern: ASCII_TOKEN,
          description: 'Client instance id: random, fixed for the life of one client object (LL-RESUME-8).',
        }),
      ),
      attempt: Type.Integer({
        minimum: 0,
        maximum: 2_147_483_647,
        description: 'Failed connection attempts since the last open connection (0 = first try).',
      }),
      auth: Type.Optional(Type.Unknown({ description: 'Credentials for the server app, e.g. a token.' })),
      resume: Type.Optional(ResumeRequest),
      am: Type.Optional(
        OpaqueToken('The last app memento the server issued, untouched.', MAX_APP_MEMENTO_LENGTH),
      ),
    },
    { description: 'Client to server, first frame of every connection: opens or resumes a session.' },
  ),
)

export const Send = frame(
  'Send',
  Type.Object(
    {
      type: Type.Literal('send'),
      seq: messageSeq('Client seq within the session: 1, 2, 3... without gaps.'),
      id: Type.String({
        minLength: 1,
        pattern: ASCII_TOKEN,
        maxLength: MAX_MESSAGE_ID_LENGTH,
        description: 'Stable message id (printable ASCII), unchanged when resent in another session.',
      }),
      topic: Type.Optional(Topic),
      data: Data,
    },
    { description: 'Client to server: an application message, processed exactly once.' },
  ),
)

export const ClientAck = frame(
  'ClientAck',
  Type.Object(
    {
      type: Type.Literal('ack'),
      seq: seq('Every message of the stream up to this seq was delivered to the app.'),
      topic: Type.Optional(topic('The topic stream acked; absent for the direct stream.')),
    },
    { description: 'Client to server: cumulative acknowledgement of one stream.' },
  ),
)

export const Join = frame(
  'Join',
  Type.Object(
    {
      type: Type.Literal('join'),
      topic: Topic,
      from: Type.Optional(
        seq('Recover the topic from this seq: the client already has every message up to it.'),
      ),
      epoch: Type.Optional(epoch('The incarnation `from` belongs to (LL-EPOCH-3).')),
    },
    { description: 'Client to server: subscribe to a topic. Answered by joined or join_error.' },
  ),
)

export const Leave = frame(
  'Leave',
  Type.Object(
    { type: Type.Literal('leave'), topic: Topic },
    { description: 'Client to server: unsubscribe from a topic. Answered by unjoined.' },
  ),
)

export const ClientBye = frame(
  'ClientBye',
  Type.Object(
    { type: Type.Literal('bye'), reason: Type.Optional(Reason) },
    { description: 'Client to server: end the session now. The client will not reconnect.' },
  ),
)

/** Every frame a client may send, by `type`. */
export const ClientFrames = {
  hello: Hello,
  send: Send,
  ack: ClientAck,
  join: Join,
  leave: Leave,
  ping: Ping,
  pong: Pong,
  bye: ClientBye,
} as const

export type Hello = Static<typeof Hello>
export type ResumeRequest = Static<typeof ResumeRequest>
export type Send = Static<typeof Send>
export type ClientAck = Static<typeof ClientAck>
export type Join = Static<typeof Join>
export type Leave = Static<typeof Leave>
export type ClientBye = Static<typeof ClientBye>
