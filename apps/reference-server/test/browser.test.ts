/**
 * The demo in a real browser against the real server: two people chat, one goes offline and keeps
 * typing, and when she is back every message is on both screens exactly once, her peer saw her away
 * then back, and nothing is left pending.
 */
import { statSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  ARTIFACTS,
  type DemoBrowser,
  demoBrowser,
  member,
  messages,
  messageTexts,
  POLL,
  pendingCount,
  say,
} from './browser-helpers.js'
import { metricsOf, sample } from './helpers.js'

let demo: DemoBrowser
let openAs: DemoBrowser['openAs']
let server: DemoBrowser['server']
let pageErrors: string[]

beforeAll(async () => {
  demo = await demoBrowser()
  ;({ openAs, server, pageErrors } = demo)
})

afterAll(async () => {
  await demo?.close()
})

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
    await carol.screenshot({ path: join(ARTIFACTS, 'demo-transport-polling.png') })
    expect(pageErrors).toEqual([])
  })
})
