/** The demo in a real Chromium against a real reference server: what every browser test needs. */
import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { type Browser, chromium, type Page } from 'playwright-core'
import { expect } from 'vitest'
import type { Config } from '../src/config.js'
import { type TestServer, testServer } from './helpers.js'

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
export const DEMO_DIST = join(DEMO_ROOT, 'dist')
export const ARTIFACTS = fileURLToPath(new URL('../../../artifacts', import.meta.url))
export const POLL = { timeout: 15_000, interval: 50 } as const

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

export interface DemoBrowser {
  readonly server: TestServer
  /** Errors thrown in any page: a test ends by expecting none. */
  readonly pageErrors: string[]
  /** A new browser context (its own sessionStorage, like a new tab) on the demo, named and open. */
  openAs(name: string, query?: string): Promise<Page>
  /** Stops the server (as `npm start` does on Ctrl-C) and starts a new one on the same port. */
  restartServer(): Promise<void>
  close(): Promise<void>
}

export interface DemoBrowserOptions {
  /** More Chromium flags for this test's browser. */
  readonly browserArgs?: readonly string[]
}

/** Starts a reference server serving the built demo, and Chromium (which the test needs: no skip). */
export async function demoBrowser(
  config: Partial<Config> = {},
  options: DemoBrowserOptions = {},
): Promise<DemoBrowser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `Chromium is required for the browser test and was not found at ${CHROMIUM}. ` +
        'Install it with: DEBIAN_FRONTEND=noninteractive apt-get install -y chromium',
    )
  }
  ensureDemoBuilt()
  mkdirSync(ARTIFACTS, { recursive: true })
  const settings: Partial<Config> = {
    demoDir: DEMO_DIST,
    heartbeatMs: 1000,
    heartbeatTimeoutMs: 1000,
    graceMs: 30_000,
    logLevel: 'warn',
    ...config,
  }
  let server = await testServer(settings)
  const browser: Browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [...CHROMIUM_ARGS, ...(options.browserArgs ?? [])],
    headless: true,
  })
  const pageErrors: string[] = []
  return {
    get server() {
      return server
    },
    pageErrors,
    openAs: async (name, query = '') => {
      const context = await browser.newContext({ viewport: { width: 1100, height: 760 } })
      const page = await context.newPage()
      page.on('pageerror', (error) => pageErrors.push(`${name}: ${error.message}`))
      await page.goto(`${server.url}${query}`)
      await page.getByTestId('name').fill(name)
      await page.getByTestId('join').click()
      await expect.poll(() => page.getByTestId('status').getAttribute('data-state'), POLL).toBe('open')
      expect(await page.getByTestId('name-form').isVisible()).toBe(false)
      expect(await page.getByTestId('me').textContent()).toBe(name)
      return page
    },
    restartServer: async () => {
      const port = server.port
      await server.close()
      server = await testServer({ ...settings, port })
    },
    close: async () => {
      await browser.close()
      await server.close()
    },
  }
}

export async function say(page: Page, text: string): Promise<void> {
  await page.getByTestId('input').fill(text)
  await page.getByTestId('send').click()
}

export const messages = (page: Page) => page.locator('[data-testid="messages"] > li')
export const messageTexts = (page: Page) => messages(page).allTextContents()
export const member = (page: Page, name: string) =>
  page.locator(`[data-testid="presence"] > li[data-name="${name}"]`).getAttribute('data-state')
/** Whether a member is listed at all (counts, so it never waits for an element that is gone). */
export const listed = async (page: Page, name: string) =>
  (await page.locator(`[data-testid="presence"] > li[data-name="${name}"]`).count()) > 0
export const memberDetail = (page: Page, name: string) =>
  page.locator(`[data-testid="presence"] > li[data-name="${name}"] em`).textContent()
export const pendingCount = async (page: Page) =>
  Number(await page.getByTestId('pending').getAttribute('data-count'))
