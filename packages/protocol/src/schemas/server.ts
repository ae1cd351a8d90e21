import { type Static, Type } from '@sinclair/typebox'
import { MAX_APP_MEMENTO_LENGTH, MAX_MEMENTO_LENGTH, MAX_RESUME_TOPICS } from '../limits.js'
import {
  ASCII_TOKEN,
  Code,
  Data,
  Epoch,
  epoch,
  frame,
  MessageSeq,
  Millis,
  messageSeq,
  millis,
  OpaqueToken,
  Reason,
  seq,
  Topic,
  topic,
} from './common.js'
import { Ping, Pong } from './shared.js'

export const SessionId = Type.String({
  minLength: 1,
  pattern: ASCII_TOKEN,
  maxLength: 64,
  description: 'Public session id: shown to peers in presence, never usable to resume.',
})

export const UnrecoveredReason = Type.Union(
  [
    Type.Literal('expired'),
    Type.Literal('unknown'),
    Type.Literal('invalid'),
    Type.Literal('overflow'),
    Type.Literal('ended'),
    Type.Literal('kicked'),
    Type.Literal('retired'),
  ],
  {
    description:
      "Why a resume did not recover everything (LL-RESUME-4): expired (grace or memento lifetime over), unknown (no such session, e.g. server restarted), invalid (memento rejected), overflow (some streams lost entries: see lost), ended (the client's bye ended the session), kicked (the server app ended it), retired (signed with a retired key).",
  },
)

export const LostStreams = Type.Object(
  {
    seq: Type.Optional(seq('The direct stream did not recover: its cursor is now this seq.')),
    topics: Type.Optional(
      Type.Record(Topic, Type.Object({ seq: seq('The new cursor.'), epoch: Epoch }), {
        additionalProperties: false,
        maxProperties: MAX_RESUME_TOPICS,
        description: 'Topics that did not recover, with the cursor and incarnation they continue from.',
      }),
    ),
  },
  { description: 'Streams that lost entries in this resume, and where each continues (LL-RESUME-3).' },
)

export const Limits = Type.Object(
  {
    maxFrameBytes: Type.Integer({ minimum: 1024, description: 'Largest frame (UTF-8 bytes) accepted.' }),
    maxTopics: Type.Integer({ minimum: 1, description: 'Most topics one session may join.' }),
    maxSessions: Type.Optional(
      Type.Integer({ minimum: 1, description: 'Most sessions one subject may hold (LL-LIMIT-6).' }),
    ),
    dedupIds: Type.Optional(
      Type.Integer({ minimum: 1, description: 'Message ids the de-duplication window holds per subject.' }),
    ),
    dedupMs: Type.Optional(millis('How long the de-duplication window keeps an id.')),
    maxPendingSends: Type.Optional(
      Type.Integer({
        minimum: 1,
        description: 'Most sends a client keeps unacked on the wire (LL-LIMIT-7); more wait in its outbox.',
      }),
    ),
    maxPendingSendBytes: Type.Optional(
      Type.Integer({
        minimum: 1024,
        description: 'Most bytes of sends (frames as sent) a client keeps unacked on the wire (LL-LIMIT-7).',
      }),
    ),
  },
  { description: 'Limits the server enforces on this session.' },
)

export const Welcome = frame(
  'Welcome',
  Type.Object(
    {
      type: Type.Literal('welcome'),
      version: Type.Integer({ minimum: 1, maximum: 65535, description: 'The protocol version chosen.' }),
      sid: SessionId,
      memento: OpaqueToken(
        'Resume token: store it untouched, replacing the previous one.',
        MAX_MEMENTO_LENGTH,
      ),
      resumed: Type.Boolean({ description: 'True when this connection continues an existing session.' }),
      recovered: Type.Boolean({
        description: 'True when the session resumed with nothing missing: every gap will be replayed.',
      }),
      reason: Type.Optional(UnrecoveredReason),
      lost: Type.Optional(LostStreams),
      ackedSeq: seq('Highest client send seq the server has processed in this session (0 for a new one).'),
      receivedSeq: Type.Optional(
        seq(
          'Highest client send seq the server has received in this session; new sends follow it (LL-SEND-8).',
        ),
      ),
      dedupEpoch: Type.Optional(
        Type.String({
          minLength: 1,
          maxLength: 64,
          pattern: ASCII_TOKEN,
          description: "Incarnation of the subject's de-duplication window (LL-SEND-10).",
        }),
      ),
      topics: Type.Array(Topic, { description: 'Topics the resumed session is still joined to.' }),
      heartbeatMs: Millis,
      heartbeatTimeoutMs: Millis,
      graceMs: Millis,
      limits: Limits,
      am: Type.Optional(OpaqueToken('Current app memento, if the app set one.', MAX_APP_MEMENTO_LENGTH)),
      amv: Type.Optional(
        Type.Unknown({ description: 'The value of am, for the client app to read (LL-APPM-5).' }),
      ),
    },
    { description: 'Server to client, answer to hello: the session is open.' },
  ),
)

export const Msg = frame(
  'Msg',
  Type.Object(
    {
      type: Type.Literal('msg'),
      seq: MessageSeq,
      topic: Type.Optional(topic('The topic stream; absent for the direct stream.')),
      data: Data,
      am: Type.Optional(
        OpaqueToken('New app memento, stored once this message is delivered.', MAX_APP_MEMENTO_LENGTH),
      ),
      amv: Type.Optional(
        Type.Unknown({
          description:
            "The value of am (direct stream, LL-APPM-5), or the topic's app memento as of this entry (topic stream, LL-APPM-6).",
        }),
      ),
    },
    { description: 'Server to client: an application message in a stream (direct or topic).' },
  ),
)

export const ServerAck = frame(
  'ServerAck',
  Type.Object(
    {
      type: Type.Literal('ack'),
      seq: seq('Every client send up to this seq has been processed.'),
    },
    { description: 'Server to client: cumulative acknowledgement of client sends.' },
  ),
)

export const MemberState = Type.Union([Type.Literal('online'), Type.Literal('away')])

export const Member = Type.Object({
  sid: SessionId,
  state: MemberState,
  meta: Type.Optional(Type.Unknown({ description: 'What the server app says about this member.' })),
})

export const Joined = frame(
  'Joined',
  Type.Object(
    {
      type: Type.Literal('joined'),
      topic: Topic,
      seq: seq('The client cursor for the topic: live messages start after it.'),
      epoch: Type.Optional(epoch('The incarnation seq belongs to (LL-EPOCH-2).')),
      recovered: Type.Optional(
        Type.Boolean({ description: 'With join.from: true when every message after from will be replayed.' }),
      ),
      members: Type.Array(Member, { description: 'Members of the topic as of membersSeq (default: seq).' }),
      membersSeq: Type.Optional(
        seq('The topic seq members are as of, when a replay (join.from) starts before it: LL-PRESENCE-3.'),
      ),
      amv: Type.Optional(Type.Unknown({ description: "The topic's app memento as of seq (LL-APPM-8)." })),
      presence: Type.Optional(
        Type.Literal(false, {
          description:
            'The topic has no presence (LL-PRESENCE-6): members is empty and no presence entry will come.',
        }),
      ),
    },
    { description: 'Server to client: the join succeeded.' },
  ),
)

export const JoinError = frame(
  'JoinError',
  Type.Object(
    { type: Type.Literal('join_error'), topic: Topic, code: Code, reason: Reason },
    { description: 'Server to client: the join failed; other topics are unaffected.' },
  ),
)

export const Unjoined = frame(
  'Unjoined',
  Type.Object(
    {
      type: Type.Literal('unjoined'),
      topic: Topic,
      code: Type.Optional(Code),
      reason: Type.Optional(Reason),
    },
    { description: 'Server to client: the session no longer receives the topic (leave, or removed).' },
  ),
)

export const PresenceEvent = Type.Union(
  [Type.Literal('joined'), Type.Literal('away'), Type.Literal('reconnected'), Type.Literal('left')],
  { description: 'joined, away (dropped, in grace), reconnected (resumed), left (bye, kick or grace over).' },
)

export const Presence = frame(
  'Presence',
  Type.Object(
    {
      type: Type.Literal('presence'),
      seq: MessageSeq,
      topic: Topic,
      sid: SessionId,
      event: PresenceEvent,
      meta: Type.Optional(Type.Unknown()),
    },
    { description: 'Server to client: a member of a topic changed state. Sequenced in the topic stream.' },
  ),
)

export const MementoUpdate = frame(
  'MementoUpdate',
  Type.Object(
    { type: Type.Literal('memento'), memento: OpaqueToken('Fresh resume token.', MAX_MEMENTO_LENGTH) },
    { description: 'Server to client: replaces the stored memento (refresh before expiry).' },
  ),
)

export const ErrorFrame = frame(
  'Error',
  Type.Object(
    {
      type: Type.Literal('error'),
      code: Code,
      reason: Reason,
      ref: Type.Optional(messageSeq('The client send seq this error is about.')),
    },
    { description: 'Server to client: a non-fatal error; the connection stays open.' },
  ),
)

export const ServerBye = frame(
  'ServerBye',
  Type.Object(
    {
      type: Type.Literal('bye'),
      code: Code,
      reason: Reason,
      reconnect: Type.Boolean({ description: 'False: the client MUST NOT reconnect (LL-INTENT-2).' }),
      retryAfterMs: Type.Optional(millis('Wait at least this long before reconnecting.')),
      jitterMs: Type.Optional(millis('Add a uniform random delay in [0, jitterMs).')),
    },
    { description: 'Server to client: the server is closing this connection, and why.' },
  ),
)

/** Every frame a server may send, by `type`. */
export const ServerFrames = {
  welcome: Welcome,
  msg: Msg,
  ack: ServerAck,
  joined: Joined,
  join_error: JoinError,
  unjoined: Unjoined,
  presence: Presence,
  memento: MementoUpdate,
  error: ErrorFrame,
  ping: Ping,
  pong: Pong,
  bye: ServerBye,
} as const

export type Welcome = Static<typeof Welcome>
export type Msg = Static<typeof Msg>
export type ServerAck = Static<typeof ServerAck>
export type Member = Static<typeof Member>
export type Joined = Static<typeof Joined>
export type JoinError = Static<typeof JoinError>
export type Unjoined = Static<typeof Unjoined>
export type Presence = Static<typeof Presence>
export type PresenceEvent = Static<typeof PresenceEvent>
export type MementoUpdate = Static<typeof MementoUpdate>
export type ErrorFrame = Static<typeof ErrorFrame>
export type ServerBye = Static<typeof ServerBye>
export type UnrecoveredReason = Static<typeof UnrecoveredReason>
export type Limits = Static<typeof Limits>
export type LostStreams = Static<typeof LostStreams>
