import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { ConfigError, defaultDemoDir, parseConfig, usage } from '../src/config.js'

const SECRET = 'x'.repeat(32)

describe('parseConfig', () => {
  it('has defaults for everything', () => {
    expect(parseConfig([], {})).toEqual({
      port: 8080,
      host: '127.0.0.1',
      graceMs: 30_000,
      heartbeatMs: 25_000,
      heartbeatTimeoutMs: 10_000,
      secret: undefined,
      allowedOrigins: undefined,
      demoDir: defaultDemoDir(),
      logLevel: 'info',
    })
  })

  it('finds the built demo next to this app, from src/ and from dist/ alike', () => {
    const demo = fileURLToPath(new URL('../../demo/dist', import.meta.url))
    expect(defaultDemoDir()).toBe(demo)
    expect(defaultDemoDir(new URL('../dist/main.js', import.meta.url).href)).toBe(demo)
  })

  it('reads the environment', () => {
    const config = parseConfig([], {
      PORT: '9000',
      HOST: '0.0.0.0',
      GRACE_MS: '5000',
      HEARTBEAT_MS: '1000',
      HEARTBEAT_TIMEOUT_MS: '2000',
      LIFELINE_SECRET: SECRET,
      ALLOWED_ORIGINS: 'https://a.example, http://localhost:5173',
      DEMO_DIR: '/srv/demo',
      LOG_LEVEL: 'WARN',
    })
    expect(config).toEqual({
      port: 9000,
      host: '0.0.0.0',
      graceMs: 5000,
      heartbeatMs: 1000,
      heartbeatTimeoutMs: 2000,
      secret: SECRET,
      allowedOrigins: ['https://a.example', 'http://localhost:5173'],
      demoDir: '/srv/demo',
      logLevel: 'warn',
    })
  })

  it('reads flags, as --flag value and --flag=value, and flags win over the environment', () => {
    const config = parseConfig(
      [
        '--port',
        '0',
        '--host=::1',
        '--grace-ms',
        '30000',
        '--heartbeat-ms=1500',
        '--heartbeat-timeout-ms',
        '700',
        `--secret=${SECRET}y`,
        '--origins',
        'https://b.example/',
        '--demo-dir',
        './public',
        '--log-level',
        'debug',
      ],
      { PORT: '9000', HOST: '0.0.0.0', LIFELINE_SECRET: SECRET, ALLOWED_ORIGINS: 'https://a.example' },
    )
    expect(config).toEqual({
      port: 0,
      host: '::1',
      graceMs: 30_000,
      heartbeatMs: 1500,
      heartbeatTimeoutMs: 700,
      secret: `${SECRET}y`,
      allowedOrigins: ['https://b.example'],
      demoDir: './public',
      logLevel: 'debug',
    })
  })

  it('ignores empty environment variables', () => {
    expect(parseConfig([], { PORT: '', LIFELINE_SECRET: '' })).toMatchObject({
      port: 8080,
      secret: undefined,
    })
  })

  it.each([
    [['--port', '70000'], {}, /--port must be between 0 and 65535/],
    [[], { PORT: 'eighty' }, /PORT must be a whole number/],
    [[], { PORT: '-1' }, /PORT must be a whole number/],
    [['--grace-ms', '1.5'], {}, /--grace-ms must be a whole number/],
    [['--heartbeat-ms', '10'], {}, /--heartbeat-ms must be between 100/],
    [['--secret', 'short'], {}, /--secret must be at least 32 bytes/],
    [[], { LIFELINE_SECRET: 'short' }, /LIFELINE_SECRET must be at least 32 bytes/],
    [['--origins', 'example.com'], {}, /is not an origin/],
    [['--origins', 'https://a.example/path'], {}, /is not an origin/],
    [['--origins', ' , '], {}, /lists no origin/],
    [['--log-level', 'loud'], {}, /must be one of debug, info, warn, error, silent/],
    [['--host', ''], {}, /must be a host name/],
    [['--nope', '1'], {}, /unknown option --nope/],
    [['--port'], {}, /--port needs a value/],
    [['--port', '--host', 'x'], {}, /--port needs a value/],
    [['8080'], {}, /unexpected argument "8080"/],
  ] as const)('refuses %j %j', (argv, env, message) => {
    expect(() => parseConfig(argv, env)).toThrow(ConfigError)
    expect(() => parseConfig(argv, env)).toThrow(message)
  })

  it('documents every flag and its variable', () => {
    const text = usage()
    for (const flag of ['--port', '--host', '--grace-ms', '--heartbeat-ms', '--heartbeat-timeout-ms']) {
      expect(text).toContain(flag)
    }
    for (const name of [
      '--secret',
      '--origins',
      '--demo-dir',
      '--log-level',
      'LIFELINE_SECRET',
      'ALLOWED_ORIGINS',
    ]) {
      expect(text).toContain(name)
    }
  })
})
