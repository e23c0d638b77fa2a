/**
 * Consent end to end in headless Chromium: the demo shop, with the real tag from `/tag.js`, visited in a fresh
 * browser context per test, with Global Privacy Control (navigator.globalPrivacyControl and the Sec-GPC header),
 * with Do Not Track (navigator.doNotTrack and the DNT header), after the opt-out page flow, and with a stub IAB TCF
 * CMP (`__tcfapi`) denying or granting consent. Every event the tag sent during the visit is captured from its
 * beacon or pixel request, then looked up by id in the inspector: without consent none is stored with a visitor
 * identifier and no visitor id cookie is kept; with consent, or with no signal at all, every one is.
 */
import { assert, describe, it } from "@effect/vitest"
import type { Event } from "@openaudience/event-schema"
import { WireFormat } from "@openaudience/pixel"
import * as Either from "effect/Either"
import type { BrowserContext, BrowserContextOptions, Page } from "playwright-core"
import { fullConsent, tcString } from "../../../packages/consent/test/fixtures/reference.js"
import { browserSuite, record, seenIds, visitorCookie } from "./support/browser.js"
import { inspect, type TestServer } from "./support/server.js"

const requireBrowser = browserSuite()

const granted = tcString(fullConsent)
const denied = tcString({ ...fullConsent, purposeConsents: [2, 3, 4, 7], vendorConsents: [] })

/** Polls `get` every 100 ms until `ready` holds, failing with `explain()` after `timeoutMs`. */
const poll = async <A>(
  get: () => A | Promise<A>,
  ready: (value: A) => boolean,
  explain: (value: A) => string,
  timeoutMs = 10_000
): Promise<A> => {
  const deadline = Date.now() + timeoutMs
  let value = await get()
  while (!ready(value)) {
    if (Date.now() > deadline) return assert.fail(explain(value))
    await new Promise((resolve) => setTimeout(resolve, 100))
    value = await get()
  }
  return value
}

/** Everything a visit left behind: the events the tag sent (decoded from its requests) and the browser log. */
interface Visit {
  readonly server: TestServer
  readonly context: BrowserContext
  readonly page: Page
  readonly shop: string
  readonly sent: Array<Event.Event>
  readonly log: Array<string>
}

/** Decodes every event the tag sends to the collector from the context's pages: beacon bodies and GET pixels. */
const capture = (context: BrowserContext, server: TestServer, sent: Array<Event.Event>, log: Array<string>): void => {
  const keep = (source: string, result: Either.Either<Event.Event, WireFormat.WireFormatError>): void => {
    if (Either.isRight(result)) sent.push(result.right)
    else log.push(`${source}: undecodable event: ${result.left.message}`)
  }
  context.on("request", (request) => {
    const url = new URL(request.url())
    if (url.origin !== server.url) return
    if (url.pathname === "/collect" && request.method() === "POST") {
      const body = request.postData()
      const batch = WireFormat.decodeBatch(body ?? "")
      if (Either.isLeft(batch)) log.push(`POST /collect: undecodable body ${JSON.stringify(body)}`)
      else for (const line of batch.right) keep("POST /collect", line)
    } else if (url.pathname === "/px.gif") {
      keep("GET /px.gif", WireFormat.decodeQuery(url.search))
    }
  })
}

/** Runs `f` in a fresh browser context (with `options` and init scripts), closing it afterwards. */
const inContext = async (
  ctx: { skip: (note?: string) => never },
  setup: { readonly options?: BrowserContextOptions; readonly init?: (context: BrowserContext) => Promise<void> },
  f: (visit: Visit) => Promise<void>
): Promise<void> => {
  const { browser, server } = requireBrowser(ctx)
  const context = await browser.newContext(setup.options)
  try {
    await setup.init?.(context)
    const sent: Array<Event.Event> = []
    const log: Array<string> = []
    capture(context, server, sent, log)
    const page = await context.newPage()
    record(page, log)
    await f({ server, context, page, shop: `${server.url}/demo/shop/`, sent, log })
  } finally {
    await context.close()
  }
}

/** Views the boots and adds them to the cart. */
const viewAndAdd = async ({ page, shop }: Visit): Promise<void> => {
  await page.goto(`${shop}product.html?sku=sku-boots`)
  assert.strictEqual(await page.textContent("#name"), "Trail boots")
  await page.click("#add")
  await page.waitForSelector("#added", { state: "visible" })
}

/** The page an event was sent from, without its query string (the tag sends it whole). */
const pageOf = (event: Event.Event): string | undefined => event.url?.split("?")[0]

/** The events the tag sent from the product page: its page view, the product view and the add to cart. */
const sentFromProductPage = ({ sent, shop, log }: Visit): Promise<Array<Event.Event>> => {
  const fromProductPage = () => sent.filter((event) => pageOf(event) === `${shop}product.html`)
  return poll(
    fromProductPage,
    (events) => ["page_view", "product_view", "add_to_cart"].every((type) => events.some((e) => e.type === type)),
    (events) =>
      `the tag did not send the product page's events within 10 s.\nsent: ${JSON.stringify(
        events.map((e) => e.type)
      )}\nbrowser log:\n${log.join("\n")}`
  )
}

/** The stored events (as the inspector shows them) of the given sent events, in the same order. */
const stored = async ({ server, log }: Visit, sent: ReadonlyArray<Event.Event>): Promise<Array<any>> => {
  const ids = sent.map((event) => event.id)
  const found = await poll(
    async () => new Map((await inspect(server.url, 1000)).map((event) => [event.id as string, event])),
    (byId) => ids.every((id) => byId.has(id)),
    (byId) =>
      `the collector did not store every event the tag sent within 10 s: missing ${JSON.stringify(
        sent.filter((event) => !byId.has(event.id)).map((event) => [event.type, event.id])
      )}\nbrowser log:\n${log.join("\n")}`
  )
  return ids.map((id) => found.get(id))
}

/** Every event sent from the visit's pages, once the tag has sent `sent` (nothing else arrived unnoticed). */
const assertOnlyThese = async (visit: Visit, before: ReadonlySet<string>): Promise<void> => {
  const arrived = (await inspect(visit.server.url, 1000)).filter((event) => !before.has(event.id))
  assert.sameMembers(
    arrived.map((event) => event.id),
    visit.sent.map((event) => event.id),
    "the inspector holds exactly the events the tag was seen sending"
  )
}

type Signal = "gpc" | "dnt" | "optout" | "tcf"

/**
 * No visitor identifier stored with any of `events`, each under a receipt that names `signal`, decided under
 * `model` (the demo's local visitors are under the opt-out model, unless a CMP says the GDPR applies).
 */
const assertNoIdentifier = (
  events: ReadonlyArray<any>,
  signal: Signal,
  reason: string,
  model: "opt-in" | "opt-out" = "opt-out"
): void => {
  assert.isNotEmpty(events)
  for (const event of events) {
    const what = `${event.type} ${event.id}: ${JSON.stringify(event.consent)}`
    assert.isNull(event.visitor, what)
    assert.isTrue(event.consent.signals[signal], what)
    assert.isFalse(event.consent.decision.identifier, what)
    assert.isFalse(event.consent.decision.personalization, what)
    assert.include(event.consent.decision.reasons, reason, what)
    assert.strictEqual(event.consent.model, model, what)
  }
}

/** The tag itself kept no visitor id: none sent with any event, no `_oa_vid` cookie. */
const assertTagKeptNoId = async (visit: Visit, sent: ReadonlyArray<Event.Event>): Promise<void> => {
  for (const event of sent) assert.isUndefined(event.visitorId, `${event.type} was sent with a visitor id`)
  assert.isUndefined(await visitorCookie(visit.context), "no visitor id cookie")
}

/** One pseudonymous visitor stored with every one of `events`, never the raw id of the tag's cookie. */
const assertIdentified = async (visit: Visit, events: ReadonlyArray<any>): Promise<void> => {
  assert.isNotEmpty(events)
  const raw = await visitorCookie(visit.context)
  assert.match(raw ?? "", /^[\da-f]{32}$/, "the tag keeps a first-party visitor id cookie")
  for (const event of events) {
    const what = `${event.type} ${event.id}: ${JSON.stringify(event.consent)}`
    assert.isString(event.visitor, what)
    assert.notStrictEqual(event.visitor, raw, what)
    assert.isTrue(event.consent.decision.identifier, what)
    assert.isTrue(event.consent.decision.personalization, what)
  }
  assert.strictEqual(new Set(events.map((event) => event.visitor)).size, 1, "one visitor across the visit")
}

/** A stub IAB TCF v2 CMP (`window.__tcfapi`) answering `addEventListener` shortly after, as a loaded CMP does. */
const stubCmp = async (
  context: BrowserContext,
  answer: {
    readonly tcString: string
    readonly purposes: Record<number, boolean>
    readonly vendors: Record<number, boolean>
  }
): Promise<void> =>
  context.addInitScript((a) => {
    ;(window as any).__tcfapi = (command: string, version: number, callback: (data: unknown, ok: boolean) => void) => {
      if (command !== "addEventListener" || version !== 2) return
      setTimeout(
        () =>
          callback(
            {
              tcString: a.tcString,
              gdprApplies: true,
              eventStatus: "tcloaded",
              cmpStatus: "loaded",
              purpose: { consents: a.purposes },
              vendor: { consents: a.vendors },
              listenerId: 1
            },
            true
          ),
        50
      )
    }
  }, answer)

describe("consent in the demo shop, in headless Chromium", () => {
  it(
    "with Global Privacy Control, stores the visit's events without any visitor identifier",
    (ctx) =>
      inContext(
        ctx,
        {
          options: { extraHTTPHeaders: { "Sec-GPC": "1" } },
          init: (context) =>
            context.addInitScript(() => Object.defineProperty(navigator, "globalPrivacyControl", { get: () => true }))
        },
        async (visit) => {
          const before = await seenIds(visit.server.url)
          await viewAndAdd(visit)
          assert.isTrue(await visit.page.evaluate(() => (navigator as any).globalPrivacyControl))
          const sent = await sentFromProductPage(visit)
          for (const event of sent) assert.strictEqual(event.consent?.gpc, true, `${event.type} forwards GPC`)
          assertNoIdentifier(await stored(visit, sent), "gpc", "gpc")
          await assertTagKeptNoId(visit, sent)
          await assertOnlyThese(visit, before)
        }
      ),
    60_000
  )

  it(
    "with Do Not Track, stores the visit's events without any visitor identifier",
    (ctx) =>
      inContext(
        ctx,
        {
          options: { extraHTTPHeaders: { DNT: "1" } },
          init: (context) =>
            context.addInitScript(() => Object.defineProperty(navigator, "doNotTrack", { get: () => "1" }))
        },
        async (visit) => {
          const before = await seenIds(visit.server.url)
          await viewAndAdd(visit)
          assert.strictEqual(await visit.page.evaluate(() => navigator.doNotTrack), "1")
          const sent = await sentFromProductPage(visit)
          for (const event of sent) assert.strictEqual(event.consent?.dnt, true, `${event.type} forwards DNT`)
          assertNoIdentifier(await stored(visit, sent), "dnt", "dnt")
          await assertTagKeptNoId(visit, sent)
          await assertOnlyThese(visit, before)
        }
      ),
    60_000
  )

  it(
    "after the opt-out page flow, stores the next visit's events without any visitor identifier",
    (ctx) =>
      inContext(ctx, {}, async (visit) => {
        const { page, shop, server } = visit
        const before = await seenIds(server.url)
        await page.goto(shop)
        // Before opting out, the shop's page view is stored with an identifier.
        const [shopView] = await poll(
          () => visit.sent.filter((event) => pageOf(event) === shop),
          (events) => events.length > 0,
          () => `the shop's page view was not sent within 10 s\nbrowser log:\n${visit.log.join("\n")}`
        )
        const [storedShopView] = await stored(visit, [shopView!])
        assert.isString(storedShopView.visitor, "before opting out, the visitor is known")

        await page.click('footer a[href="/optout"]')
        await page.waitForURL(`${server.url}/optout`)
        assert.include(await page.textContent("#status"), "You are not opted out")
        await page.click("#optout-button")
        await page.waitForURL(`${server.url}/optout?done=optout`)
        assert.include(await page.textContent("#status"), "You are opted out")
        const optout = (await visit.context.cookies()).find((cookie) => cookie.name === "oa_optout")
        assert.deepInclude(optout, { value: "1", httpOnly: true }, "the opt-out cookie, out of the tag's reach")

        await viewAndAdd(visit)
        const sent = await sentFromProductPage(visit)
        // On the same site as the collector (the demo), the tag sees the readable flag: it removes the visitor id
        // it had kept, after sending it once more with the opt-out (the objection), and sends none afterwards.
        const cookies = await page.evaluate(() => document.cookie)
        assert.include(cookies, "_oa_optout=1")
        assert.notInclude(cookies, "_oa_vid=")
        const afterOptOut = visit.sent.filter((event) => event.id !== shopView!.id)
        assert.strictEqual(afterOptOut[0]!.visitorId, shopView!.visitorId, "the old id goes once with the opt-out")
        for (const event of afterOptOut.slice(1)) {
          assert.isUndefined(event.visitorId, `${event.type} carries no visitor id`)
        }
        assertNoIdentifier(await stored(visit, sent), "optout", "optout")
        // The server stored the objection of the pseudonym the visitor had: its memberships and history end.
        const objection = await poll(
          async () => (await inspect(server.url, 1000)).find((event) => event.id === `objection:${afterOptOut[0]!.id}`),
          (found) => found !== undefined,
          () => "no objection record within 10 s"
        )
        assert.strictEqual(objection!.visitor, storedShopView.visitor)
        assert.deepStrictEqual(objection!.data, {})
        await assertOnlyThese(visit, new Set([...before, objection!.id]))
      }),
    60_000
  )

  it(
    "with TCF consent denied by the CMP, stores the visit's events without any visitor identifier",
    (ctx) =>
      inContext(
        ctx,
        { init: (context) => stubCmp(context, { tcString: denied, purposes: {}, vendors: {} }) },
        async (visit) => {
          const before = await seenIds(visit.server.url)
          await viewAndAdd(visit)
          const sent = await sentFromProductPage(visit)
          for (const event of sent)
            assert.strictEqual(event.consent?.tcf, denied, `${event.type} forwards the TC string`)
          // The stub CMP says the GDPR applies: the tag forwards it and the server decides by TCF (opt-in).
          for (const event of sent) assert.isTrue(event.consent?.gdprApplies, `${event.type} forwards gdprApplies`)
          assertNoIdentifier(await stored(visit, sent), "tcf", "tcf:no-purpose-1-consent", "opt-in")
          await assertTagKeptNoId(visit, sent)
          await assertOnlyThese(visit, before)
        }
      ),
    60_000
  )

  it(
    "with TCF consent given by the CMP, stores the visit's events with a visitor identifier",
    (ctx) =>
      inContext(
        ctx,
        {
          init: (context) =>
            stubCmp(context, {
              tcString: granted,
              purposes: Object.fromEntries(Array.from({ length: 11 }, (_, i) => [i + 1, true])),
              vendors: { 1000: true }
            })
        },
        async (visit) => {
          const before = await seenIds(visit.server.url)
          await viewAndAdd(visit)
          const sent = await sentFromProductPage(visit)
          for (const event of sent) {
            assert.strictEqual(event.consent?.tcf, granted, `${event.type} forwards the TC string`)
            assert.isString(event.visitorId, `${event.type} is sent with the visitor id`)
          }
          const events = await stored(visit, sent)
          await assertIdentified(visit, events)
          for (const event of events) {
            assert.isTrue(event.consent.signals.tcf, event.type)
            assert.deepStrictEqual(event.consent.decision.reasons, [], event.type)
          }
          await assertOnlyThese(visit, before)
        }
      ),
    60_000
  )

  it(
    "with no privacy signal at all, stores the visit's events with a visitor identifier",
    (ctx) =>
      inContext(ctx, {}, async (visit) => {
        const before = await seenIds(visit.server.url)
        await viewAndAdd(visit)
        const sent = await sentFromProductPage(visit)
        for (const event of sent) assert.isString(event.visitorId, `${event.type} is sent with the visitor id`)
        const events = await stored(visit, sent)
        await assertIdentified(visit, events)
        for (const event of events) {
          const what = `${event.type}: ${JSON.stringify(event.consent)}`
          assert.deepInclude(
            event.consent.signals,
            { gpc: false, dnt: false, optout: false, coppa: false, tcf: false, gpp: false, usp: false },
            what
          )
          assert.strictEqual(event.consent.model, "opt-out", what)
        }
        await assertOnlyThese(visit, before)
      }),
    60_000
  )
})
