/**
 * Static files of the built demo: safe path resolution (no traversal, no symlink escapes, no dot
 * files), content types, and cache headers (hashed assets forever, everything else revalidated).
 */
import { createReadStream } from 'node:fs'
import { realpath, stat } from 'node:fs/promises'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { extname, join, resolve, sep } from 'node:path'

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.webmanifest': 'application/manifest+json',
}

/** Vite names built assets `name-<hash>.ext` (hash of 8+ base64url characters): safe to cache forever. */
const HASHED = /[-.][A-Za-z0-9_-]{8,}\.[a-z0-9]+$/

export function contentType(path: string): string {
  return CONTENT_TYPES[extname(path).toLowerCase()] ?? 'application/octet-stream'
}

export function cacheControl(urlPath: string): string {
  return urlPath.startsWith('/assets/') && HASHED.test(urlPath)
    ? 'public, max-age=31536000, immutable'
    : 'no-cache'
}

/**
 * Maps a URL path to a file under root, or undefined when the path is malformed or leaves root.
 * The path is percent-decoded once; `..`, `\`, NUL and dot-file segments are refused outright.
 */
export function safeJoin(root: string, urlPath: string): string | undefined {
  let decoded: string
  try {
    decoded = decodeURIComponent(urlPath)
  } catch {
    return undefined
  }
  if (!decoded.startsWith('/') || decoded.includes('\0') || decoded.includes('\\')) return undefined
  const segments = decoded.split('/').filter((segment) => segment !== '')
  if (segments.some((segment) => segment === '..' || segment === '.' || segment.startsWith('.'))) {
    return undefined
  }
  const base = resolve(root)
  const target = resolve(base, ...segments)
  if (target !== base && !target.startsWith(base + sep)) return undefined
  return target
}

export type StaticResult = 'served' | 'not-found' | 'bad-path'

/** Serves GET/HEAD of `urlPath` from root (index.html for directories). */
export async function serveStatic(
  root: string,
  urlPath: string,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<StaticResult> {
  const joined = safeJoin(root, urlPath)
  if (joined === undefined) return 'bad-path'
  let file = joined
  let realRoot: string
  let info: Awaited<ReturnType<typeof stat>>
  try {
    realRoot = await realpath(root)
    info = await stat(file)
    if (info.isDirectory()) {
      file = join(file, 'index.html')
      info = await stat(file)
    }
    if (!info.isFile()) return 'not-found'
    const real = await realpath(file)
    if (!real.startsWith(realRoot + sep)) return 'not-found' // a symlink pointing out of root
  } catch {
    return 'not-found'
  }
  const headers: Record<string, string | number> = {
    'Content-Type': contentType(file),
    'Content-Length': info.size,
    'Cache-Control': cacheControl(urlPath),
    'Last-Modified': info.mtime.toUTCString(),
    'X-Content-Type-Options': 'nosniff',
  }
  if (file.endsWith('.html')) {
    headers['Content-Security-Policy'] =
      "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:; base-uri 'none'; frame-ancestors 'none'"
    headers['Referrer-Policy'] = 'no-referrer'
  }
  const since = req.headers['if-modified-since']
  if (since !== undefined && Math.floor(info.mtimeMs / 1000) <= Math.floor(Date.parse(since) / 1000)) {
    res.writeHead(304, { 'Cache-Control': headers['Cache-Control'] as string })
    res.end()
    return 'served'
  }
  res.writeHead(200, headers)
  if (req.method === 'HEAD') {
    res.end()
    return 'served'
  }
  await new Promise<void>((done) => {
    const stream = createReadStream(file)
    stream.on('error', () => {
      res.destroy()
      done()
    })
    stream.on('end', () => done())
    stream.pipe(res)
  })
  return 'served'
}
