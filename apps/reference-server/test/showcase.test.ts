/**
 * The demo as a showcase, in Chromium: history that survives a reload and reaches a late joiner (the
 * chat's own store, found through the room's app memento), a drop you can see (status, and a toast
 * saying what came back and how long it took), away counting down to left, and your own presence
 * right while you are offline. Screenshots go to artifacts/.
 */
import { join } from 'node:path'
import type { Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  ARTIFACTS,
  type DemoBrowser,
  demoBrowser,
  listed,
  member,
  memberDetail,
  messages,
  messageTexts,
  POLL,
  pendingCount,
  say,
} from './browser-helpers.js'

const GRACE_MS = 4000
let demo: DemoBrowser

beforeAll(async () => {
  demo = await demoBrowser({ graceMs: GRACE_MS })
})

afterAll(async () => {
  await demo?.close()
})

const shot = (page: Page, name: string) => page.screenshot({ path: join(ARTIFACTS, `${name}.png`) })
const toast = (page: Page) => page.getByTestId('toast')
const sources = (page: Page) =>
  messages(page).evaluateAll((items) => items.map((item) => item.getAttribute('data-source')))

describe('the demo as a showcase, in Chromium', () => {
  it('history survives a reload and reaches a late joiner, each message once and in order', {
    timeout: 60_000,
  }, async () => {
    const alice = await demo.openAs('alice', '?room=history')
    const bob = await demo.openAs('bob', '?room=history')
    await say(alice, 'r1 from alice')
    await say(bob, 'r2 from bob')
    await say(bob, 'r3 from bob')
    await expect.poll(() => messages(alice).count(), POLL).toBe(3)
    const before = await messageTexts(alice)

    // A reload: the page starts blank, resumes the session, and loads the history up to the room's
    // app memento, which its client kept with its cursor.
    await alice.reload()
    await expect.poll(() => alice.getByTestId('status').getAttribute('data-state'), POLL).toBe('open')
    await expect.poll(() => alice.getByTestId('session').getAttribute('data-resumed'), POLL).toBe('true')
    expect(await alice.getByTestId('session').getAttribute('data-recovered')).toBe('true')
    await expect.poll(() => messageTexts(alice), POLL).toEqual(before)
    expect(await sources(alice)).toEqual(['history', 'history', 'history'])
    await expect.poll(() => toast(alice).isVisible(), POLL).toBe(true)
    expect(await toast(alice).textContent()).toMatch(
      /^Page reloaded, back after \d+\.\d s: session resumed, nothing lost/,
    )
    await shot(alice, 'demo-after-reload')

    // What follows comes live, after the history, once.
    await say(bob, 'r4 from bob')
    await expect.poll(() => messages(alice).count(), POLL).toBe(4)

    // A late joiner: her join brings the room's app memento, up to which she loads the history.
    const carol = await demo.openAs('carol', '?room=history')
    await expect.poll(() => messages(carol).count(), POLL).toBe(4)
    expect(await sources(carol)).toEqual(['history', 'history', 'history', 'history'])
    await say(carol, 'r5 from carol')
    for (const page of [alice, bob, carol]) await expect.poll(() => messages(page).count(), POLL).toBe(5)
    const texts = await messageTexts(carol)
    expect(texts).toEqual([
      'alice: r1 from alice',
      'bob: r2 from bob',
      'bob: r3 from bob',
      'bob: r4 from bob',
      'carol: r5 from carol',
    ])
    expect(await messageTexts(alice)).toEqual(texts)
    expect(await messageTexts(bob)).toEqual(texts)
    await shot(carol, 'demo-late-joiner')

    // Typed offline, then a reload: the client kept the send (LL-SEND-9), the new page shows it waiting,
    // and it goes out once.
    await alice.getByTestId('offline').check()
    await expect.poll(() => alice.getByTestId('status').getAttribute('data-state'), POLL).toBe('waiting')
    await say(alice, 'r6 typed offline, then a reload')
    await expect.poll(() => pendingCount(alice), POLL).toBe(1)
    await alice.reload()
    await expect
      .poll(async () => (await alice.getByTestId('log').textContent()) ?? '', POLL)
      .toContain('1 message(s) typed before the reload wait to go out')
    for (const page of [alice, bob, carol]) await expect.poll(() => messages(page).count(), POLL).toBe(6)
    expect((await messageTexts(bob)).at(-1)).toBe('alice: r6 typed offline, then a reload')
    expect(await messageTexts(alice)).toEqual(await messageTexts(bob))
    await expect.poll(() => alice.locator('[data-testid="outbox"] > li').count(), POLL).toBe(0)
    expect(demo.pageErrors).toEqual([])
  })

  it('a drop is visible, your own presence is right while offline, and peers count down to left', {
    timeout: 60_000,
  }, async () => {
    const dave = await demo.openAs('dave', '?room=drop')
    const erin = await demo.openAs('erin', '?room=drop')
    await expect.poll(() => member(erin, 'dave'), POLL).toBe('online')

    // Dave's network goes: his status says so at once, and his own entry is no longer "online".
    await dave.getByTestId('offline').check()
    await expect.poll(() => dave.getByTestId('status').getAttribute('data-state'), POLL).toBe('waiting')
    await expect.poll(() => member(dave, 'dave'), POLL).toBe('away')
    expect(await memberDetail(dave, 'dave')).toBe('offline: the others see you away')
    // Erin sees him away, with the time left before the server gives up on him.
    await expect.poll(() => member(erin, 'dave'), POLL).toBe('away')
    await expect.poll(() => memberDetail(erin, 'dave'), POLL).toMatch(/^away · leaves in [1-4] s$/)
    await say(erin, 'e1 while dave is away')
    await say(erin, 'e2 while dave is away')
    await say(dave, 'd1 typed offline')
    await expect.poll(() => pendingCount(dave), POLL).toBe(1)
    await shot(erin, 'demo-away-countdown')
    await shot(dave, 'demo-offline-self')

    // Back within the grace period: resumed, and the toast says what came back.
    await dave.getByTestId('offline').uncheck()
    await expect.poll(() => toast(dave).isVisible(), POLL).toBe(true)
    expect(await toast(dave).getAttribute('data-resumed')).toBe('true')
    expect(await toast(dave).getAttribute('data-recovered')).toBe('true')
    expect(await toast(dave).getAttribute('data-replayed')).toBe('2')
    expect(await toast(dave).getAttribute('data-delivered')).toBe('1')
    expect(Number(await toast(dave).getAttribute('data-ms'))).toBeGreaterThan(0)
    expect(await toast(dave).textContent()).toMatch(
      /^Connection dropped, back after \d+\.\d s: session resumed, nothing lost\. 2 missed messages replayed, 1 of yours delivered\.$/,
    )
    expect(await member(dave, 'dave')).toBe('online')
    await expect.poll(() => member(erin, 'dave'), POLL).toBe('online')
    await shot(dave, 'demo-drop-toast')

    // The Drop button: the server kills the socket; the status shows it, and so does a toast.
    await erin.getByTestId('toast').evaluate((element) => {
      ;(element as HTMLElement).hidden = true
    })
    await erin.getByTestId('drop').click()
    await expect.poll(() => toast(erin).isVisible(), POLL).toBe(true)
    expect(await toast(erin).textContent()).toMatch(
      /^Connection dropped, back after \d+\.\d s: session resumed, nothing lost\.$/,
    )

    // Erin closes her tab: dave sees her away, counting down, then gone when the grace ends.
    await erin.context().close()
    await expect.poll(() => member(dave, 'erin'), POLL).toBe('away')
    await expect.poll(() => memberDetail(dave, 'erin'), POLL).toMatch(/^away · leaves in [1-4] s$/)
    await expect.poll(() => listed(dave, 'erin'), { ...POLL, timeout: GRACE_MS + 10_000 }).toBe(false)
    expect(await messageTexts(dave)).toEqual([
      'erin: e1 while dave is away',
      'erin: e2 while dave is away',
      'dave: d1 typed offline',
    ])
    expect(demo.pageErrors).toEqual([])
  })

  it('a session that expired comes back as a new one, says so, and misses nothing of the room', {
    timeout: 60_000,
  }, async () => {
    const fay = await demo.openAs('fay', '?room=expire')
    const gus = await demo.openAs('gus', '?room=expire')
    await fay.getByTestId('offline').check()
    await say(gus, 'g1 while fay is gone')
    await expect.poll(() => listed(gus, 'fay'), { ...POLL, timeout: GRACE_MS + 10_000 }).toBe(false)
    await say(gus, 'g2 after fay left')
    await fay.getByTestId('offline').uncheck()
    await expect.poll(() => toast(fay).isVisible(), POLL).toBe(true)
    expect(await toast(fay).getAttribute('data-resumed')).toBe('false')
    expect(await toast(fay).textContent()).toMatch(/new session: it had expired/)
    await expect
      .poll(() => messageTexts(fay), POLL)
      .toEqual(['gus: g1 while fay is gone', 'gus: g2 after fay left'])
    await expect.poll(() => member(gus, 'fay'), POLL).toBe('online')
    await shot(fay, 'demo-expired-toast')
    expect(demo.pageErrors).toEqual([])
  })

  it('the server restarts: the page says its log was lost and shows the chat as the new server has it', {
    timeout: 60_000,
  }, async () => {
    const hal = await demo.openAs('hal', '?room=restart')
    const ivy = await demo.openAs('ivy', '?room=restart')
    await say(hal, 'h1 before the restart')
    await say(ivy, 'i1 before the restart')
    for (const page of [hal, ivy]) await expect.poll(() => messages(page).count(), POLL).toBe(2)

    // The memory store and the chat's history go with the server: new sessions, numbers from 1 again.
    await demo.restartServer()
    for (const page of [hal, ivy]) {
      await expect.poll(() => page.getByTestId('session').getAttribute('data-resumed'), POLL).toBe('false')
      await expect.poll(() => page.getByTestId('status').getAttribute('data-state'), POLL).toBe('open')
      await expect
        .poll(async () => (await page.getByTestId('log').textContent()) ?? '', POLL)
        .toContain("the room's log was lost: the chat is reloaded from the history")
    }
    await say(ivy, 'i2 after the restart')
    await say(hal, 'h2 after the restart')
    const after = ['ivy: i2 after the restart', 'hal: h2 after the restart']
    for (const page of [hal, ivy]) await expect.poll(() => messageTexts(page), POLL).toEqual(after)
    await shot(hal, 'demo-server-restart')
    expect(demo.pageErrors).toEqual([])
  })

  it('LL-RESUME-8: a duplicated tab takes the session, the first tab says so, and a reload there starts anew', {
    timeout: 60_000,
  }, async () => {
    const jo = await demo.openAs('jo', '?room=duplicate')
    const kim = await demo.openAs('kim', '?room=duplicate')
    await say(jo, 'j1 before the copy')
    await expect.poll(() => messages(kim).count(), POLL).toBe(1)

    // "Duplicate tab": the browser copies the tab's sessionStorage, so the copy resumes jo's session.
    const copy = await duplicateTab(jo, '?room=duplicate')
    await expect.poll(() => status(copy), POLL).toBe('open')
    expect(await copy.getByTestId('session').getAttribute('data-resumed')).toBe('true')
    await expect.poll(() => status(jo), POLL).toBe('closed')
    await expect
      .poll(async () => (await jo.getByTestId('log').textContent()) ?? '', POLL)
      .toContain('this session continues in another tab, a duplicate of this one: reload for a new one here')
    expect(await member(jo, 'jo')).toBe('closed')
    expect(await memberDetail(jo, 'jo')).toBe('this tab left the session: reload to come back')
    await shot(jo, 'demo-duplicated-tab')
    await expect.poll(() => messageTexts(copy), POLL).toEqual(['jo: j1 before the copy'])
    await say(copy, 'j2 from the copy')

    // The first tab reloads: a session of its own, and the copy keeps its one.
    await jo.reload()
    await expect.poll(() => status(jo), POLL).toBe('open')
    expect(await jo.getByTestId('session').getAttribute('data-resumed')).toBe('false')
    await say(jo, 'j3 from the first tab')
    const texts = ['jo: j1 before the copy', 'jo: j2 from the copy', 'jo: j3 from the first tab']
    for (const page of [jo, copy, kim]) await expect.poll(() => messageTexts(page), POLL).toEqual(texts)
    expect(await status(copy)).toBe('open')
    expect(demo.pageErrors).toEqual([])
  })
})

const status = (page: Page) => page.getByTestId('status').getAttribute('data-state')

/** What the browser's "Duplicate tab" does: a new tab with a copy of this one's sessionStorage. */
async function duplicateTab(page: Page, query: string): Promise<Page> {
  const stored = await page.evaluate(() => Object.entries(sessionStorage))
  const browser = page.context().browser()
  if (browser === null) throw new Error('no browser')
  const context = await browser.newContext({ viewport: { width: 1100, height: 760 } })
  await context.addInitScript((entries) => {
    if (sessionStorage.length === 0) for (const [key, value] of entries) sessionStorage.setItem(key, value)
  }, stored)
  const copy = await context.newPage()
  copy.on('pageerror', (error) => demo.pageErrors.push(`copy: ${error.message}`))
  await copy.goto(`${demo.server.url}${query}`)
  return copy
}
