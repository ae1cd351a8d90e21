/** The Socket.IO binding's shared pieces: defaults (LL-SIO-4), the descriptor (LL-SIO-5), frame checks. */

/** Socket.IO's own default path (LL-SIO-4). */
export const DEFAULT_PATH = '/socket.io/'
/** The namespace Lifeline uses unless a deployment says otherwise (LL-SIO-4). */
export const DEFAULT_NAMESPACE = '/lifeline'
/** The event every frame travels as (LL-SIO-1, LL-SIO-4). */
export const DEFAULT_EVENT = 'lifeline'

/**
 * A Socket.IO endpoint descriptor (LL-SIO-5): what a deployment that changes a default gives its
 * clients, as JSON. A missing member means its default.
 */
export interface SocketIoEndpoint {
  readonly transport?: 'socket.io'
  /** The server's origin: scheme, host and port, no path, e.g. `https://chat.example.com`. */
  readonly url: string
  /** The Socket.IO path. Default: `/socket.io/`. */
  readonly path?: string
  /** The namespace. Default: `/lifeline`. */
  readonly namespace?: string
  /** The event name. Default: `lifeline`. */
  readonly event?: string
}

/** A descriptor with every default applied and checked. */
export interface ResolvedEndpoint {
  readonly url: string
  readonly path: string
  readonly namespace: string
  readonly event: string
}

/** Events Socket.IO reserves on a socket: Lifeline's event must not be one of them. */
const RESERVED = new Set([
  'connect',
  'connect_error',
  'disconnect',
  'disconnecting',
  'newListener',
  'removeListener',
])

export function checkNamespace(namespace: string, where: string): string {
  if (!namespace.startsWith('/'))
    throw new TypeError(`${where}: namespace must start with /, got ${namespace}`)
  return namespace
}

export function checkEvent(event: string, where: string): string {
  if (event === '' || RESERVED.has(event)) {
    throw new TypeError(`${where}: ${JSON.stringify(event)} cannot be the event name (reserved by Socket.IO)`)
  }
  return event
}

/** Applies LL-SIO-4's defaults to a descriptor or an origin, refusing a URL with a path (LL-SIO-5). */
export function resolveEndpoint(endpoint: string | SocketIoEndpoint, where: string): ResolvedEndpoint {
  const given = typeof endpoint === 'string' ? { url: endpoint } : endpoint
  if (given.transport !== undefined && given.transport !== 'socket.io') {
    throw new TypeError(`${where}: a descriptor for ${String(given.transport)}, not socket.io`)
  }
  const url = new URL(given.url)
  if (url.pathname !== '/' || url.search !== '' || url.hash !== '') {
    // Socket.IO reads a URL's path as the namespace; LL-SIO-5 keeps them apart so nothing is guessed.
    throw new TypeError(
      `${where}: url must be an origin without a path (${given.url}); give the namespace as \`namespace\``,
    )
  }
  return {
    url: url.origin,
    path: given.path ?? DEFAULT_PATH,
    namespace: checkNamespace(given.namespace ?? DEFAULT_NAMESPACE, where),
    event: checkEvent(given.event ?? DEFAULT_EVENT, where),
  }
}

function utf8Length(text: string): number {
  return new TextEncoder().encode(text).length
}

/**
 * LL-SIO-7: the largest Engine.IO packet carrying one frame of `maxFrameBytes`:
 * `42` + namespace + `,` + `["` + event + `",` + frame + `]`.
 */
export function maxHttpBufferSize(maxFrameBytes: number, namespace: string, event: string): number {
  return maxFrameBytes + 8 + utf8Length(namespace) + utf8Length(event)
}

/**
 * Why the arguments of one `lifeline` event are not a frame (LL-SIO-6), or undefined when they are
 * exactly one plain JSON object. Runs on every frame: no allocation for the usual shallow frame.
 */
export function frameProblem(args: readonly unknown[]): string | undefined {
  if (args.length !== 1) {
    return typeof args[args.length - 1] === 'function'
      ? 'a lifeline event must not ask for an acknowledgement (LL-SIO-1)'
      : `a lifeline event carries exactly one frame, got ${args.length} arguments (LL-SIO-6)`
  }
  const frame = args[0]
  if (typeof frame !== 'object' || frame === null || Array.isArray(frame)) {
    return 'a lifeline event carries one JSON object (LL-SIO-6)'
  }
  return hasBinary(frame, 0) ? 'binary attachments are not part of the protocol (LL-SIO-6)' : undefined
}

/** Nesting followed recursively; deeper values are walked with an explicit stack instead. */
const MAX_RECURSION = 32

function hasBinary(value: object, depth: number): boolean {
  if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer || isBlob(value)) return true
  if (depth >= MAX_RECURSION) return hasBinaryDeep(value)
  if (Array.isArray(value)) {
    for (const item of value)
      if (typeof item === 'object' && item !== null && hasBinary(item, depth + 1)) return true
    return false
  }
  for (const key in value) {
    const item = (value as Record<string, unknown>)[key]
    if (typeof item === 'object' && item !== null && hasBinary(item, depth + 1)) return true
  }
  return false
}

/** The same walk, iterative, so a deeply nested payload cannot overflow the stack. */
function hasBinaryDeep(root: object): boolean {
  const pending: unknown[] = [root]
  for (let value = pending.pop(); value !== undefined; value = pending.pop()) {
    if (typeof value !== 'object' || value === null) continue
    if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer || isBlob(value)) return true
    if (Array.isArray(value)) for (const item of value) pending.push(item)
    else for (const key in value) pending.push((value as Record<string, unknown>)[key])
  }
  return false
}

const BlobClass = (globalThis as { Blob?: abstract new () => object }).Blob

function isBlob(value: object): boolean {
  return BlobClass !== undefined && value instanceof BlobClass
}
