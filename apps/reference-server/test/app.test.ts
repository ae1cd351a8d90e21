import { describe, expect, it } from 'vitest'
import { authenticate, onJoin } from '../src/app.js'
import { createLogger } from '../src/logger.js'
import { locateDemo } from '../src/server.js'
import { cacheControl, safeJoin } from '../src/static.js'

describe('authenticate', () => {
  it('takes a trimmed name of 1 to 32 printable characters as subject and meta', () => {
    expect(authenticate({ name: '  Zoë Ångström ' })).toEqual({
      subject: 'Zoë Ångström',
      meta: { name: 'Zoë Ångström' },
    })
    expect(authenticate({ name: 'x'.repeat(32) }).subject).toHaveLength(32)
    expect(authenticate({ name: '🦊'.repeat(32) }).subject).toBe('🦊'.repeat(32)) // characters, not UTF-16 units
  })

  it.each([
    undefined,
    null,
    'alice',
    {},
    { name: 42 },
    { name: '' },
    { name: '   ' },
    { name: 'x'.repeat(33) },
    { name: 'bad\u0000name' },
    { name: 'tab\tname' },
    { name: 'zero\u200bwidth' },
  ])('refuses %j', (auth) => {
    expect(() => authenticate(auth)).toThrow()
  })
})

describe('onJoin', () => {
  it('allows room:* topics only', () => {
    expect(onJoin('room:lobby')).toBe(true)
    expect(onJoin('room:')).toBe(false)
    expect(onJoin('admin')).toBe(false)
  })
})

describe('static paths', () => {
  it('maps paths inside the root and refuses the rest', () => {
    expect(safeJoin('/srv/demo', '/')).toBe('/srv/demo')
    expect(safeJoin('/srv/demo', '/assets/a%20b.js')).toBe('/srv/demo/assets/a b.js')
    for (const path of [
      '/../x',
      '/a/../../x',
      '/%2e%2e/x',
      '/..%2Fx',
      '/.git/config',
      '/a\\b',
      '/%00',
      '/%zz',
      'x',
    ]) {
      expect(safeJoin('/srv/demo', path)).toBeUndefined()
    }
  })

  it('caches hashed assets forever and revalidates everything else', () => {
    expect(cacheControl('/assets/index-DYfXcjLs.js')).toBe('public, max-age=31536000, immutable')
    expect(cacheControl('/assets/index-DEdflNHa.css')).toBe('public, max-age=31536000, immutable')
    expect(cacheControl('/index.html')).toBe('no-cache')
    expect(cacheControl('/assets/logo.svg')).toBe('no-cache')
  })

  it('keeps an explicit demo directory as given (resolved)', () => {
    expect(locateDemo('/nonexistent/demo')).toBe('/nonexistent/demo')
  })
})

describe('logger', () => {
  it('writes JSON lines at or above its level and redacts secrets', () => {
    const lines: string[] = []
    const logger = createLogger('info', { write: (line: string) => lines.push(line) })
    logger.debug('hidden')
    logger.info('shown', {
      sid: 's_1',
      memento: 'm1.k1.abc',
      nested: { auth: { name: 'x' } },
      error: new Error('boom'),
    })
    expect(lines).toHaveLength(1)
    const record = JSON.parse(lines[0] as string)
    expect(record).toMatchObject({
      level: 'info',
      msg: 'shown',
      sid: 's_1',
      memento: '[redacted]',
      nested: { auth: '[redacted]' },
      error: { name: 'Error', message: 'boom' },
    })
    expect(new Date(record.time).toISOString()).toBe(record.time)
    expect(lines[0]).not.toContain('m1.k1.abc')
  })
})
