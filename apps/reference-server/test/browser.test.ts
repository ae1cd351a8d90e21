/**
 * The demo in a real browser against the real server: two people chat, one goes offline and keeps
 * typing, and when she is back every message is on both screens exactly once, her peer saw her away
 * then back, and nothing is left pending.
 */
import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { type Browser, chromium, type Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { metricsOf, sample, type TestServer, testServer } from './helpers.js'

const CHROMIUM = '/usr/bin/chromium'
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-quic',
  '--no-first-run',
  '--disable-component-update',
  '--disable-sync',
]
const DEMO_ROOT = fileURLToPath(new URL('../../demo', import.meta.url))
const DEMO_DIST = join(DEMO_ROOT, 'dist')
const ARTIFACTS = fileURLToPath(new URL('../../../artifacts', import.meta.url))
const POLL = { timeout: 15_000, interval: 50 } as const

function newestMtime(path: string): number {
  const info = statSync(path)
  if (!info.isDirectory()) return info.mtimeMs
  return Math.max(info.mtimeMs, ...readdirSync(path).map((name) => newestMtime(join(path, name))))
}

/** Builds the demo when turbo has not (a bare `vitest run`), or when its sources are newer. */
function ensureDemoBuilt(): void {
  const index = join(DEMO_DIST, 'index.html')
  const sources = Math.max(newestMtime(join(DEMO_ROOT, 'src')), newestMtime(join(DEMO_ROOT, 'index.html')))
  if (existsSync(index) && statSync(index).mtimeMs >= sources) return
  const vite = join(DEMO_ROOT, 'node_modules', 'vite', 'bin', 'vite.js')
  execFileSync(process.execPath, [vite, 'build', '--logLevel', 'warn'], { cwd: DEMO_ROOT, stdio: 'inherit' })
}

let server: TestServer
let browser: Browser | undefined
const pageErrors: string[] = []

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `Chromium is required for the browser test and was not found at ${CHROMIUM}. ` +
        'Install it with: DEBIAN_FRONTEND=noninteractive apt-get install -y chromium',
    )
  }
  ensureDemoBuilt()
  server = await testServer({
    demoDir: DEMO_DIST,
    heartbeatMs: 1000,
    heartbeatTimeoutMs: 1000,
    graceMs: 30_000,
    logLevel: 'warn',
  })
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true })
})

afterAll(async () => {
  await browser?.close()
  await server?.close()
})

async function openAs(name: string, query = ''): Promise<Page> {
  const context = await (browser as Browser).newContext({ viewport: { width: 1100, height: 760 } })
  const page = await context.newPage()
  page.on('pageerror', (error) => pageErrors.push(`${name}: ${error.message}`))
  await page.goto(`${server.url}${query}`)
  await page.getByTestId('name').fill(name)
  await page.getByTestId('join').click()
  await expect.poll(() => page.getByTestId('status').getAttribute('data-state'), POLL).toBe('open')
  expect(await page.getByTestId('name-form').isVisible()).toBe(false)
  expect(await page.getByTestId('me').textContent()).toBe(name)
  return page
}

async function say(page: Page, text: string): Promise<void> {
  await page.getByTestId('input').fill(text)
  await page.getByTestId('send').click()
}

const messages = (page: Page) => page.locator('[data-testid="messages"] > li')
const messageTexts = (page: Page) => messages(page).allTextContents()
const member = (page: Page, name: string) =>
  page.locator(`[data-testid="presence"] > li[data-name="${name}"]`).getAttribute('data-state')
const pendingCount = async (page: Page) =>
  Number(await page.getByTestId('pending').getAttribute('data-count'))

function expectInOrder(texts: readonly string[], sender: string, expected: readonly string[]): void {
  expect(texts.filter((text) => text.startsWith(`${sender}: `))).toEqual(
    expected.map((t) => `${sender}: ${t}`),
  )
}

describe('the demo in Chromium', () => {
  it('loses nothing and duplicates nothing while alice is offline', { timeout: 90_000 }, async () => {
    const alice = await openAs('alice')
    const bob = await openAs('bob')

    // Both in the lobby, both online, and a first exchange.
    await expect.poll(() => member(bob, 'alice'), POLL).toBe('online')
    await expect.poll(() => member(alice, 'bob'), POLL).toBe('online')
    await say(alice, 'hello from alice')
    await say(bob, 'hi alice')
    await expect.poll(() => messages(alice).count(), POLL).toBe(2)
    await expect.poll(() => messages(bob).count(), POLL).toBe(2)

    // Alice's network goes away.
    await alice.getByTestId('offline').check()
    await expect.poll(() => alice.getByTestId('status').textContent(), POLL).toBe('offline')
    await expect.poll(() => member(bob, 'alice'), POLL).toBe('away')

    // Both keep writing; alice's messages wait in her outbox.
    for (const text of ['a1 while offline', 'a2 while offline', 'a3 while offline']) await say(alice, text)
    await expect.poll(() => pendingCount(alice), POLL).toBe(3)
    await expect(alice.getByTestId('pending').isVisible()).resolves.toBe(true)
    await expect.poll(() => alice.locator('[data-testid="outbox"] > li').count(), POLL).toBe(3)
    for (const text of ['b1 while alice is away', 'b2 while alice is away']) await say(bob, text)
    await expect.poll(() => messages(bob).count(), POLL).toBe(4)
    expect(await messages(alice).count()).toBe(2) // nothing reaches a dead network
    expect(await pendingCount(alice)).toBe(3)
    mkdirSync(ARTIFACTS, { recursive: true })
    const offlineShot = join(ARTIFACTS, 'demo-alice-offline.png')
    await alice.screenshot({ path: offlineShot })

    // Alice comes back: resume, replay, and her outbox flushes exactly once.
    await alice.getByTestId('offline').uncheck()
    await expect.poll(() => alice.getByTestId('status').getAttribute('data-state'), POLL).toBe('open')
    await expect.poll(() => pendingCount(alice), POLL).toBe(0)
    await expect(alice.getByTestId('pending').isHidden()).resolves.toBe(true)
    await expect.poll(() => alice.getByTestId('session').getAttribute('data-resumed'), POLL).toBe('true')
    expect(await alice.getByTestId('session').getAttribute('data-recovered')).toBe('true')
    await expect.poll(() => messages(alice).count(), POLL).toBe(7)
    await expect.poll(() => messages(bob).count(), POLL).toBe(7)
    await expect.poll(() => member(bob, 'alice'), POLL).toBe('online')

    // Every message exactly once, in the same room order on both pages, each sender's in its order.
    const onAlice = await messageTexts(alice)
    const onBob = await messageTexts(bob)
    expect(onAlice).toEqual(onBob)
    expect(new Set(onAlice).size).toBe(7)
    expectInOrder(onAlice, 'alice', [
      'hello from alice',
      'a1 while offline',
      'a2 while offline',
      'a3 while offline',
    ])
    expectInOrder(onAlice, 'bob', ['hi alice', 'b1 while alice is away', 'b2 while alice is away'])
    const ids = await messages(alice).evaluateAll((items) =>
      items.map((item) => item.getAttribute('data-id')),
    )
    expect(new Set(ids).size).toBe(7)
    expect(
      await messages(bob).evaluateAll((items) => items.map((item) => item.getAttribute('data-id'))),
    ).toEqual(ids)
    expect(await alice.locator('[data-testid="outbox"] > li').count()).toBe(0)

    // Bob saw alice go away, then come back (his event log is newest first).
    const log = (await bob.locator('[data-testid="log"] > li').allTextContents()).reverse()
    const away = log.findIndex((line) => line.endsWith('alice is away'))
    const back = log.findIndex((line) => line.endsWith('alice is back'))
    expect(away).toBeGreaterThanOrEqual(0)
    expect(back).toBeGreaterThan(away)
    expect(log.filter((line) => line.endsWith('alice left'))).toEqual([])

    // The drop button: the server kills bob's socket, bob resumes by himself.
    await bob.getByTestId('drop').click()
    await expect
      .poll(async () => sample(await metricsOf(server), 'lifeline_resumes_total{recovered="true"}'), POLL)
      .toBeGreaterThanOrEqual(2)
    await expect.poll(() => bob.getByTestId('status').getAttribute('data-state'), POLL).toBe('open')
    await say(bob, 'still here')
    await expect.poll(() => messages(alice).count(), POLL).toBe(8)
    await expect.poll(() => messages(bob).count(), POLL).toBe(8)

    const shots = { alice: join(ARTIFACTS, 'demo-alice.png'), bob: join(ARTIFACTS, 'demo-bob.png') }
    await alice.screenshot({ path: shots.alice, fullPage: true })
    await bob.screenshot({ path: shots.bob, fullPage: true })
    for (const path of [shots.alice, shots.bob, offlineShot])
      expect(statSync(path).size).toBeGreaterThan(1000)

    expect(pageErrors).toEqual([])
  })

  it('LL-RESUME-10: over Socket.IO long-polling, and ws falling back to it, the page shows its transport and loses nothing', {
    timeout: 60_000,
  }, async () => {
    const carol = await openAs('carol', '?transport=polling')
    const dave = await openAs('dave', '?transport=auto')
    expect(await carol.getByTestId('transport').getAttribute('data-transport')).toBe('socket.io (polling)')
    expect(await dave.getByTestId('transport').getAttribute('data-transport')).toBe('ws')
    const before = await messages(carol).count()
    await say(carol, 'carol over polling')
    await expect.poll(() => messages(dave).count(), POLL).toBeGreaterThan(before)
    // The server drops carol's Socket.IO connection without a word: she resumes over it, recovered.
    await carol.getByTestId('drop').click()
    await say(dave, 'dave while carol drops')
    await expect.poll(() => carol.getByTestId('session').getAttribute('data-resumed'), POLL).toBe('true')
    expect(await carol.getByTestId('session').getAttribute('data-recovered')).toBe('true')
    await say(carol, 'carol back')
    await expect
      .poll(async () => (await messageTexts(dave)).filter((t) => t.startsWith('carol: ')).length, POLL)
      .toBe(2)
    await expect
      .poll(async () => (await messageTexts(carol)).filter((t) => t.startsWith('dave: ')).length, POLL)
      .toBe(1)
    expect(await messageTexts(carol)).toEqual(await messageTexts(dave))
    expect(await carol.getByTestId('transport').textContent()).toBe('via socket.io (polling)')
    expect(pageErrors).toEqual([])
  })
})
