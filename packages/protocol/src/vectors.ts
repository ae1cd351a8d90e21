/**
 * The format of spec/vectors: frame vectors and scenario traces, as TypeBox schemas (the source of
 * spec/vectors/schema/*.json). spec/vectors/README.md explains how a harness plays them.
 */
import { type Static, Type } from '@sinclair/typebox'

const RuleId = Type.String({ pattern: '^LL-[A-Z]+-[0-9]+$', description: 'A rule id of PROTOCOL.md.' })
const Rules = Type.Array(RuleId, { minItems: 1, description: 'The rules this vector checks.' })
const actor = (description = 'A client actor of the trace, e.g. c1.') =>
  Type.String({ pattern: '^[a-z][a-z0-9]*$', description })
const Actor = actor()
const AnyObject = Type.Record(Type.String(), Type.Unknown(), {
  description: 'A frame pattern: see "Patterns" in spec/vectors/README.md.',
})

export const FrameVector = Type.Object({
  name: Type.String({ minLength: 1 }),
  rules: Type.Optional(Rules),
  text: Type.String({ description: 'The exact text received from the transport.' }),
  maxBytes: Type.Optional(Type.Integer({ minimum: 1, description: 'Decode with this maxFrameBytes.' })),
  batch: Type.Optional(
    Type.Boolean({ description: 'Decode as a transport message (one frame or a batch).' }),
  ),
  expect: Type.Union([
    Type.Object({
      ok: Type.Literal(true),
      frames: Type.Array(AnyObject, { minItems: 1, description: 'The decoded frames, exactly.' }),
    }),
    Type.Object({
      ok: Type.Literal(false),
      error: Type.Union([
        Type.Literal('too-large'),
        Type.Literal('too-deep'),
        Type.Literal('malformed'),
        Type.Literal('invalid'),
        Type.Literal('unknown-type'),
      ]),
      code: Type.Integer({ description: 'The close code a receiver uses (4000 or 4002).' }),
    }),
  ]),
})

export const FrameVectorFile = Type.Object(
  {
    $schema: Type.Optional(Type.String()),
    description: Type.String(),
    direction: Type.Union([Type.Literal('client'), Type.Literal('server')], {
      description: "Who sent the frames: decode them with this direction's schema.",
    }),
    vectors: Type.Array(FrameVector, { minItems: 1 }),
  },
  { $id: 'https://lifeline.dev/spec/v1/vectors/frame-vectors.json', title: 'FrameVectorFile' },
)

const Duration = Type.Union(
  [
    Type.Integer({ minimum: 0, description: 'Milliseconds.' }),
    Type.Literal('heartbeat', { description: 'heartbeatMs: an idle side sends ping.' }),
    Type.Literal('dead_link', { description: 'heartbeatMs + heartbeatTimeoutMs, plus a margin.' }),
    Type.Literal('grace', { description: 'graceMs, plus a margin.' }),
  ],
  { description: 'How far the clock moves; named durations take the values from welcome.' },
)

const ClientAction = Type.Union([
  Type.Object({
    action: Type.Literal('connect'),
    auth: Type.Optional(Type.Unknown()),
    storageOf: Type.Optional(
      actor("Start with a copy of that actor's stored session (memento, cursors): a duplicated tab."),
    ),
  }),
  Type.Object({
    action: Type.Literal('send'),
    data: Type.Unknown(),
    topic: Type.Optional(Type.String()),
    id: Type.Optional(
      Type.String({ description: 'A message id the app chooses; else the client makes one.' }),
    ),
  }),
  Type.Object({ action: Type.Literal('join'), topic: Type.String() }),
  Type.Object({ action: Type.Literal('leave'), topic: Type.String() }),
  Type.Object({ action: Type.Literal('close') }),
])

const ServerAction = Type.Union([
  Type.Object({
    action: Type.Literal('publish'),
    topic: Type.Optional(Type.String()),
    to: Type.Optional(Actor),
    data: Type.Unknown(),
    appMemento: Type.Optional(Type.Unknown({ description: 'Set this app memento value with the message.' })),
  }),
  Type.Object({ action: Type.Literal('kick'), client: Actor, reason: Type.Optional(Type.String()) }),
  Type.Object({ action: Type.Literal('remove'), client: Actor, topic: Type.String() }),
  Type.Object({
    action: Type.Literal('shutdown'),
    retryAfterMs: Type.Optional(Type.Integer({ minimum: 0 })),
    jitterMs: Type.Optional(Type.Integer({ minimum: 0 })),
  }),
  Type.Object({
    action: Type.Literal('restart'),
    description: Type.Optional(Type.String()),
  }),
])

const ClientEvent = Type.Union([
  Type.Object({
    event: Type.Literal('status'),
    status: Type.Union([
      Type.Literal('connecting'),
      Type.Literal('open'),
      Type.Literal('waiting'),
      Type.Literal('closed'),
    ]),
  }),
  Type.Object({ event: Type.Literal('message'), topic: Type.Optional(Type.String()), data: Type.Unknown() }),
  Type.Object({
    event: Type.Literal('presence'),
    topic: Type.String(),
    member: Actor,
    change: Type.Union([
      Type.Literal('joined'),
      Type.Literal('away'),
      Type.Literal('reconnected'),
      Type.Literal('left'),
    ]),
  }),
  Type.Object({
    event: Type.Literal('recovered'),
    resumed: Type.Boolean(),
    recovered: Type.Boolean(),
    reason: Type.Optional(Type.String()),
    appMemento: Type.Optional(
      Type.Unknown({ description: "The value of the client's app memento reported with it (LL-APPM-3)." }),
    ),
  }),
  Type.Object({
    event: Type.Literal('joined'),
    topic: Type.String(),
    appMemento: Type.Optional(
      Type.Unknown({ description: "The topic's app memento the client reports with the join (LL-APPM-7)." }),
    ),
  }),
  Type.Object({ event: Type.Literal('join_error'), topic: Type.String(), code: Type.Integer() }),
  Type.Object({
    event: Type.Literal('settled'),
    data: Type.Unknown({ description: 'The data of the send being settled.' }),
    outcome: Type.Union([
      Type.Literal('acked'),
      Type.Literal('rejected'),
      Type.Literal('dropped'),
      Type.Literal('failed'),
    ]),
  }),
  Type.Object({ event: Type.Literal('closed'), code: Type.Integer() }),
])

const ServerEvent = Type.Union([
  Type.Object({ event: Type.Literal('message'), client: Actor, data: Type.Unknown() }),
  Type.Object({ event: Type.Literal('recover'), client: Actor, appMemento: Type.Unknown() }),
  Type.Object({
    event: Type.Literal('attempt'),
    client: Actor,
    attempt: Type.Integer({ minimum: 0 }),
  }),
])

const Fault = Type.Union(
  [
    Type.Literal('reset', {
      description: 'Both sides see the connection close, with no close frame (1006).',
    }),
    Type.Literal('client_loses', {
      description: 'The client sees its connection fail (1006); the server sees nothing (half-open).',
    }),
    Type.Literal('blackhole', { description: 'Frames in both directions vanish; nobody is told.' }),
  ],
  { description: "A network fault on the client's current connection." },
)

export const TraceStep = Type.Union([
  Type.Object({ client: Actor, do: ClientAction }, { description: 'The client app acts.' }),
  Type.Object({ server: Type.Literal('app'), do: ServerAction }, { description: 'The server app acts.' }),
  Type.Object({ client: Actor, c2s: AnyObject }, { description: 'The client sends this frame.' }),
  Type.Object(
    { client: Actor, c2sBatch: Type.Array(AnyObject, { minItems: 1, maxItems: 1024 }) },
    {
      description:
        'The client sends these frames as one batch, one transport message (LL-WS-2). Only a harness that plays the client (the server suite) sends it; such traces check the server.',
    },
  ),
  Type.Object(
    { client: Actor, s2c: AnyObject },
    { description: 'The server sends this frame to the client.' },
  ),
  Type.Object({ client: Actor, sees: ClientEvent }, { description: 'The client app observes this.' }),
  Type.Object(
    { server: Type.Literal('app'), sees: ServerEvent },
    { description: 'The server app observes this.' },
  ),
  Type.Object({ client: Actor, fault: Fault }),
  Type.Object({ advance: Duration }),
  Type.Object(
    {
      client: Actor,
      quiet: Type.Array(Type.String(), {
        minItems: 1,
        description: 'Frame types neither side has sent to the other that no step consumed.',
      }),
    },
    { description: 'Asserts that no unconsumed frame of these types is queued for this client.' },
  ),
  Type.Object({ note: Type.String() }, { description: 'A comment; harnesses ignore it.' }),
])

export const Trace = Type.Object(
  {
    $schema: Type.Optional(Type.String()),
    name: Type.String({ pattern: '^[a-z0-9-]+$' }),
    description: Type.String(),
    rules: Rules,
    clients: Type.Array(Actor, { minItems: 1, uniqueItems: true }),
    checks: Type.Optional(
      Type.Union([Type.Literal('client'), Type.Literal('server')], {
        description:
          'Set when the trace scripts behaviour one side may choose (a server sending an entry twice, say): only the other side is checked, by a harness that plays the scripted side. Default: both.',
      }),
    ),
    server: Type.Optional(
      Type.Object(
        {
          graceMs: Type.Optional(Type.Integer({ minimum: 1 })),
          heartbeatMs: Type.Optional(Type.Integer({ minimum: 1 })),
          heartbeatTimeoutMs: Type.Optional(Type.Integer({ minimum: 1 })),
          maxTopics: Type.Optional(Type.Integer({ minimum: 1 })),
          topicLogEntries: Type.Optional(Type.Integer({ minimum: 1 })),
          sessionLogEntries: Type.Optional(Type.Integer({ minimum: 1 })),
        },
        { description: 'Server settings this trace needs; a harness configures its server with them.' },
      ),
    ),
    steps: Type.Array(TraceStep, { minItems: 1 }),
  },
  { $id: 'https://lifeline.dev/spec/v1/vectors/trace.json', title: 'Trace' },
)

export type FrameVector = Static<typeof FrameVector>
export type FrameVectorFile = Static<typeof FrameVectorFile>
export type Trace = Static<typeof Trace>
export type TraceStep = Static<typeof TraceStep>

export {
  type Expectation,
  MARGIN_MS,
  TRACE_DEFAULTS,
  TraceBook,
  type TraceDirection,
  type TraceFrame,
} from './trace/book.js'
export { type Captures, deepEqual, isCapture, match } from './trace/match.js'
