/**
 * Never a silent gap, in a real browser (issue 8): the demo page reloads mid-conversation, online or
 * offline, and loses nothing and duplicates nothing. The page keeps its session and its pending sends
 * in sessionStorage (the durable outbox, LL-SEND-9); bob, a Node participant of the same room, counts
 * what arrives and talks on through every reload. Every message must reach bob exactly once and in
 * the order it was typed, and the reloaded page must show the room exactly as bob saw it.
 */
import { join } from 'node:path'
import { createClient, type LifelineClient } from '@lifeline/core'
import { wsTransport } from '@lifeline/ws/node'
import type { BrowserContext, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  ARTIFACTS,
  type DemoBrowser,
  demoBrowser,
  messages,
  messageTexts,
  POLL,
  pendingCount,
} from './browser-helpers.js'

let demo: DemoBrowser

beforeAll(async () => {
  // A page served from the test's cache while offline (as a service worker would serve it) has no
  // address of its own, so Chromium's local network checks would refuse its socket to 127.0.0.1.
  demo = await demoBrowser({}, { browserArgs: ['--disable-features=LocalNetworkAccessChecks'] })
})

afterAll(async () => {
  await demo?.close()
})

interface Chat {
  readonly from: string
  readonly text: string
  readonly n: number
}

/** Bob: a Node client in the room, recording every message it receives, in order. */
async function participant(room: string, name: string, on: DemoBrowser = demo) {
  const client: LifelineClient = createClient({ transport: wsTransport(on.server.wsUrl), auth: { name } })
  const received: Chat[] = []
  client.on('message', ({ topic, data }) => {
    if (topic === room) received.push(data as Chat)
  })
  client.connect()
  await client.join(room)
  return { client, received }
}

/** Sends a message every `everyMs` until stopped; `stop` resolves with what was sent, once all acked. */
function talk(client: LifelineClient, room: string, prefix: string, everyMs: number) {
  const sent: string[] = []
  const acks: Promise<void>[] = []
  const timer = setInterval(() => {
    const text = `${prefix} ${sent.length + 1}`
    sent.push(text)
    acks.push(client.send({ text }, { topic: room }))
  }, everyMs)
  return {
    stop: async (): Promise<string[]> => {
      clearInterval(timer)
      await Promise.all(acks)
      return sent
    },
  }
}

/** Types and sends each text through the page's composer, back to back, without waiting for acks. */
async function type(page: Page, texts: readonly string[]): Promise<void> {
  await page.evaluate((all) => {
    const input = document.querySelector<HTMLInputElement>('[data-testid="input"]')
    const form = document.querySelector<HTMLFormElement>('[data-testid="composer"]')
    if (input === null || form === null) throw new Error('no composer')
    for (const text of all) {
      input.value = text
      form.requestSubmit()
    }
  }, texts)
}

const status = (page: Page) => page.getByTestId('status').getAttribute('data-state')
const outbox = (page: Page) => page.locator('[data-testid="outbox"] > li')
const logText = async (page: Page) => (await page.getByTestId('log').textContent()) ?? ''
/** Live messages the page received a second time (the demo counts them; a duplicate is a bug). */
const duplicates = async (page: Page) =>
  Number((await page.getByTestId('messages').getAttribute('data-duplicates')) ?? 0)

/**
 * A network the test can pull: `down()` takes the browser offline (navigator.onLine false, no socket
 * gets through) and serves the demo's page from a cache, so a reload still shows it; `up()` restores.
 */
async function network(context: BrowserContext) {
  const cache = new Map<string, { status: number; headers: Record<string, string>; body: Buffer }>()
  let offline = false
  await context.route(
    (url) => url.pathname === '/' || url.pathname.startsWith('/assets/'),
    async (route) => {
      const url = route.request().url()
      const cached = cache.get(url)
      if (offline) return cached === undefined ? route.abort('internetdisconnected') : route.fulfill(cached)
      const response = await route.fetch()
      cache.set(url, { status: response.status(), headers: response.headers(), body: await response.body() })
      return route.fulfill({ response })
    },
  )
  return {
    down: async () => {
      offline = true
      await context.setOffline(true)
    },
    up: async () => {
      offline = false
      await context.setOffline(false)
    },
  }
}

/**
 * The page's Lifeline socket, relayed by the test (still the page's own WebSocket to the server), so
 * it can lose the frames a page unload would cut: `loseFromServer()` drops what the server sends on
 * the current socket from now on (its acks never arrive), `loseToServer()` what the page writes.
 */
async function relay(context: BrowserContext) {
  const sockets: { fromServer: boolean; toServer: boolean }[] = []
  await context.routeWebSocket(
    (url) => url.pathname === '/lifeline',
    (page) => {
      const socket = { fromServer: true, toServer: true }
      sockets.push(socket)
      const server = page.connectToServer()
      server.onMessage((message) => {
        if (socket.fromServer) page.send(message)
      })
      page.onMessage((message) => {
        if (socket.toServer) server.send(message)
      })
    },
  )
  const current = () => {
    const socket = sockets.at(-1)
    if (socket === undefined) throw new Error('no socket yet')
    return socket
  }
  return {
    loseFromServer: () => {
      current().fromServer = false
    },
    loseToServer: () => {
      current().toServer = false
    },
  }
}

/**
 * The end state: bob got every message of the room once, numbered 1..N without a hole (the room's
 * order), each sender's in the order sent; the page shows exactly that list, received no duplicate,
 * and has nothing pending. Returns the counts for the report.
 */
async function expectExactlyOnce(
  page: Page,
  received: readonly Chat[],
  sent: Record<string, string[]>,
  on: DemoBrowser = demo,
) {
  const total = Object.values(sent).reduce((sum, texts) => sum + texts.length, 0)
  await expect.poll(() => received.length, POLL).toBeGreaterThanOrEqual(total)
  await expect.poll(() => messages(page).count(), POLL).toBeGreaterThanOrEqual(total)
  expect(received.map((chat) => chat.n)).toEqual(Array.from({ length: total }, (_, i) => i + 1))
  for (const [from, texts] of Object.entries(sent)) {
    expect(received.filter((chat) => chat.from === from).map((chat) => chat.text)).toEqual(texts)
  }
  expect(await messageTexts(page)).toEqual(received.map((chat) => `${chat.from}: ${chat.text}`))
  expect(await duplicates(page)).toBe(0)
  await expect.poll(() => pendingCount(page), POLL).toBe(0)
  expect(await outbox(page).count()).toBe(0)
  expect(on.pageErrors).toEqual([])
  return { published: total, received: received.length, shown: await messages(page).count() }
}

describe('a page that reloads mid-conversation loses nothing and duplicates nothing (issue 8)', () => {
  it('LL-SEND-8, LL-SEND-9, LL-SEQ-3: online, reloads between sends and with sends in flight, bob talking throughout', {
    timeout: 60_000,
  }, async () => {
    const room = 'room:reload-online'
    const bob = await participant(room, 'bob')
    const alice = await demo.openAs('alice', '?room=reload-online')
    const link = await relay(alice.context())
    await alice.reload() // now through the relay
    await expect.poll(() => status(alice), POLL).toBe('open')
    const typed: string[] = []
    const restored: number[] = []
    const bobTalks = talk(bob.client, room, 'b', 60)
    const burst = (round: number, from: number, count: number) => {
      const texts = Array.from({ length: count }, (_, i) => `a${round}.${from + i}`)
      typed.push(...texts)
      return texts
    }
    const arrived = (text: string) => bob.received.some((chat) => chat.text === text)
    const reloaded = async () => {
      await expect.poll(() => status(alice), POLL).toBe('open')
      expect(await alice.getByTestId('session').getAttribute('data-resumed')).toBe('true')
      expect(await alice.getByTestId('session').getAttribute('data-recovered')).toBe('true')
      restored.push(Number(/(\d+) message\(s\) typed before the reload/.exec(await logText(alice))?.[1] ?? 0))
    }

    // 1. Everything acked, then a reload.
    await type(alice, burst(1, 1, 6))
    await expect.poll(() => pendingCount(alice), POLL).toBe(0)
    await alice.reload()
    await reloaded()

    // 2. Processed by the server, but the acks never reach the page before it goes.
    link.loseFromServer()
    await type(alice, burst(2, 1, 6))
    await expect.poll(() => arrived('a2.6'), POLL).toBe(true)
    await alice.reload()
    await reloaded()

    // 3. Nothing the page writes reaches the server any more: three sends that never leave, and the
    // acks of what bob says meanwhile, so the resume replays what the page already shows.
    link.loseToServer()
    const shown = await messages(alice).count()
    await type(alice, burst(3, 1, 3))
    await expect.poll(() => messages(alice).count(), POLL).toBeGreaterThanOrEqual(shown + 3)
    await alice.reload()
    await reloaded()

    // 4. Typed and reloaded in the same task of the page: wherever the sends are when it goes.
    const loaded = alice.waitForEvent('load')
    await alice
      .evaluate(
        (texts) => {
          const input = document.querySelector<HTMLInputElement>('[data-testid="input"]')
          const form = document.querySelector<HTMLFormElement>('[data-testid="composer"]')
          for (const text of texts) {
            if (input !== null) input.value = text
            form?.requestSubmit()
          }
          location.reload()
        },
        burst(4, 1, 6),
      )
      .catch(() => {}) // the page may be gone before evaluate answers
    await loaded
    await reloaded()

    await type(alice, burst(5, 1, 2))
    expect(restored.slice(0, 3)).toEqual([0, 6, 3])

    const counts = await expectExactlyOnce(alice, bob.received, { alice: typed, bob: await bobTalks.stop() })
    console.log(`reload online: ${JSON.stringify({ ...counts, restored })} (4 reloads)`)
    await alice.screenshot({ path: join(ARTIFACTS, 'demo-reload-online.png') })
    bob.client.close()
  })

  it('LL-SEND-9: offline, typed messages stay pending through reloads while offline, then go out once', {
    timeout: 60_000,
  }, async () => {
    const room = 'room:reload-offline'
    const bob = await participant(room, 'bob')
    const ann = await demo.openAs('ann', '?room=reload-offline')
    const net = await network(ann.context())
    await ann.reload() // once online, so the page is in the cache
    await expect.poll(() => status(ann), POLL).toBe('open')
    const typed = ['o1 online']
    await type(ann, typed)
    await expect.poll(() => pendingCount(ann), POLL).toBe(0)

    await net.down()
    await expect.poll(() => ann.getByTestId('status').textContent(), POLL).toBe('offline')
    const bobTalks = talk(bob.client, room, 'b', 100)
    const offline = ['o2 offline', 'o3 offline', 'o4 offline']
    typed.push(...offline)
    await type(ann, offline)
    await expect.poll(() => pendingCount(ann), POLL).toBe(3)

    // A reload while offline: the new page shows the three as pending, restored from the storage.
    await ann.reload()
    expect(await ann.evaluate(() => navigator.onLine)).toBe(false)
    await expect.poll(() => pendingCount(ann), POLL).toBe(3)
    expect(await outbox(ann).allTextContents()).toEqual(offline)
    expect(
      await outbox(ann).evaluateAll((items) => items.map((item) => item.getAttribute('data-restored'))),
    ).toEqual(['true', 'true', 'true'])
    expect(await logText(ann)).toContain('3 message(s) typed before the reload wait to go out')
    expect(await ann.getByTestId('status').textContent()).toBe('offline')
    await ann.screenshot({ path: join(ARTIFACTS, 'demo-reload-offline-pending.png') })

    // One more typed, and a second reload, still offline: four pending now.
    typed.push('o5 after the reload')
    await type(ann, ['o5 after the reload'])
    await expect.poll(() => pendingCount(ann), POLL).toBe(4)
    await ann.reload()
    await expect.poll(() => pendingCount(ann), POLL).toBe(4)
    expect(await outbox(ann).allTextContents()).toEqual([...offline, 'o5 after the reload'])

    // Back online: the same session resumes, the four go out once, bob's messages from while ann was
    // away (and reloading) arrive once.
    await net.up()
    await expect.poll(() => status(ann), POLL).toBe('open')
    await expect.poll(() => ann.getByTestId('session').getAttribute('data-resumed'), POLL).toBe('true')
    expect(await ann.getByTestId('session').getAttribute('data-recovered')).toBe('true')
    await expect.poll(() => pendingCount(ann), POLL).toBe(0)
    typed.push('o6 back online')
    await type(ann, ['o6 back online'])

    const counts = await expectExactlyOnce(ann, bob.received, { ann: typed, bob: await bobTalks.stop() })
    console.log(`reload offline: ${JSON.stringify({ ...counts, restored: 4 })} (2 reloads while offline)`)
    await ann.screenshot({ path: join(ARTIFACTS, 'demo-reload-offline-delivered.png') })
    bob.client.close()
  })

  it('LL-SEND-9, LL-SEND-10: offline past the grace period and reloaded: a new session, and what was typed goes out once', {
    timeout: 60_000,
  }, async () => {
    const short = await demoBrowser(
      { graceMs: 2000 },
      { browserArgs: ['--disable-features=LocalNetworkAccessChecks'] },
    )
    try {
      const room = 'room:reload-expired'
      const bob = await participant(room, 'bob', short)
      const cy = await short.openAs('cy', '?room=reload-expired')
      const net = await network(cy.context())
      await cy.reload()
      await expect.poll(() => status(cy), POLL).toBe('open')
      const typed = ['x1 online']
      await type(cy, typed)
      await expect.poll(() => pendingCount(cy), POLL).toBe(0)

      await net.down()
      await expect.poll(() => cy.getByTestId('status').textContent(), POLL).toBe('offline')
      const offline = ['x2 offline', 'x3 offline']
      typed.push(...offline)
      await type(cy, offline)
      await expect.poll(() => pendingCount(cy), POLL).toBe(2)
      // The server gives up on cy: bob sees her leave.
      const named = () =>
        [...bob.client.members(room).values()].map((m) => (m.meta as { name?: string }).name)
      await expect.poll(named, { ...POLL, timeout: 20_000 }).not.toContain('cy')
      await bob.client.send({ text: 'b1 after cy left' }, { topic: room })

      await cy.reload()
      await expect.poll(() => pendingCount(cy), POLL).toBe(2)
      await net.up()
      await expect.poll(() => status(cy), POLL).toBe('open')
      await expect.poll(() => cy.getByTestId('session').getAttribute('data-resumed'), POLL).toBe('false')
      const counts = await expectExactlyOnce(
        cy,
        bob.received,
        { cy: typed, bob: ['b1 after cy left'] },
        short,
      )
      console.log(
        `reload offline past the grace: ${JSON.stringify({ ...counts, restored: 2 })} (new session)`,
      )
      await cy.screenshot({ path: join(ARTIFACTS, 'demo-reload-offline-expired.png') })
      bob.client.close()
    } finally {
      await short.close()
    }
  })
})
