/**
 * Headless Chromium for the browser tests: Debian's package (never a downloaded browser), driven by
 * playwright-core, against the reference server started in-process. `browserSuite` starts both once per test
 * file and hands each test what it needs, failing in CI (CI=true) when Chromium is missing and skipping with the
 * reason elsewhere; the other helpers record what a page did and read the events back through the inspector.
 */
import { browserUserAgent } from "./browserFetch.js"
import { afterAll, assert, beforeAll } from "@effect/vitest"
import { existsSync } from "node:fs"
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core"
import { inspect, startServer, type TestServer } from "./server.js"

const executablePath = "/usr/bin/chromium"
const available = existsSync(executablePath)
const inCi = process.env.CI === "true"

/** Whether the browser tests run: with Chromium, and always in CI (where a missing Chromium must fail). */
export const runsInBrowser: boolean = available || inCi

/** Debian's headless Chromium, with the flags every browser test uses. */
export const launch = (): Promise<Browser> =>
  chromium.launch({
    executablePath,
    // Headless Chromium announces itself as HeadlessChrome, which the collector counts as a bot and does not
    // store: the tests play a visitor's ordinary Chrome.
    args: [
      "--no-sandbox",
      "--headless",
      "--disable-gpu",
      "--disable-background-networking",
      `--user-agent=${browserUserAgent}`
    ]
  })

/** What a browser test runs against. */
export interface BrowserSuite {
  readonly server: TestServer
  readonly browser: Browser
}

/**
 * Starts the server and Chromium before the file's tests and stops them after; call it at the top level of a
 * test file. The function it returns fails in CI when Chromium is missing; elsewhere it skips with the reason.
 */
export const browserSuite = (
  overrides: Parameters<typeof startServer>[0] = {}
): ((ctx: { skip: (note?: string) => never }) => BrowserSuite) => {
  let server: TestServer | undefined
  let browser: Browser | undefined

  beforeAll(async () => {
    if (!available) return
    server = await startServer(overrides)
    browser = await launch()
  }, 60_000)

  afterAll(async () => {
    await browser?.close()
    await server?.stop()
  })

  return (ctx) => {
    if (!available) {
      if (inCi) assert.fail(`${executablePath} is missing: install Debian's chromium package (CI=true, so this fails)`)
      ctx.skip(`${executablePath} is missing: install Debian's chromium package to run the browser tests`)
    }
    return { server: server!, browser: browser! }
  }
}

/** Records what the page and the tag did, to explain a failure. */
export const record = (page: Page, log: Array<string>): void => {
  page.on("console", (message) => log.push(`console.${message.type()}: ${message.text()}`))
  page.on("pageerror", (error) => log.push(`pageerror: ${error.message}`))
  page.on("requestfailed", (request) =>
    log.push(`request failed: ${request.method()} ${request.url()} ${request.failure()?.errorText ?? ""}`)
  )
  page.on("response", (response) => {
    if (/\/(collect|px\.gif|tag\.js)/.test(response.url())) {
      log.push(`${response.status()} ${response.request().method()} ${response.url().slice(0, 160)}`)
    }
  })
}

/** Polls the inspector (the tag batches for a second) until `ready` holds for the events not seen before. */
export const waitForEvents = async (
  url: string,
  before: ReadonlySet<string>,
  ready: (events: Array<any>) => boolean,
  log: ReadonlyArray<string>,
  timeoutMs = 10_000
): Promise<Array<any>> => {
  const deadline = Date.now() + timeoutMs
  let events: Array<any> = []
  while (Date.now() < deadline) {
    events = (await inspect(url, 1000)).filter((event) => !before.has(event.id)).reverse()
    if (ready(events)) return events
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
  return assert.fail(
    `the tag's events did not all arrive within ${timeoutMs} ms.\nstored: ${JSON.stringify(
      events.map((e) => [e.type, e.data.url])
    )}\nbrowser log:\n${log.join("\n")}`
  )
}

/** The ids of the events stored so far (the newest thousand). */
export const seenIds = async (url: string): Promise<Set<string>> =>
  new Set((await inspect(url, 1000)).map((event) => event.id as string))

/** The tag's first-party visitor id cookie, if the browser keeps one. */
export const visitorCookie = async (context: BrowserContext): Promise<string | undefined> =>
  (await context.cookies()).find((cookie) => cookie.name === "_oa_vid")?.value
