import { afterEach, assert, beforeEach, describe, it, vi } from "@effect/vitest"
import { Either } from "effect"
import { install } from "../src/tag/Tag.js"
import * as WireFormat from "../src/WireFormat.js"
import {
  element,
  type FakeWindow,
  type FakeWindowOptions,
  makeWindow,
  stubCmp,
  TC_STRINGS,
  tcData,
  VENDOR_ID
} from "./helpers/FakeWindow.js"

const NOW = Date.UTC(2026, 0, 15, 12, 0, 0)
const ENDPOINT = "https://collect.example"

/** A page with the snippet's queue (`init` plus `extra` commands) on which the tag then loads. */
const load = (options: FakeWindowOptions = {}, init: Record<string, unknown> = {}, ...extra: Array<Array<unknown>>) => {
  const fake = makeWindow(options)
  fake.window.oa = { q: [["init", "demo", { endpoint: ENDPOINT, ...init }], ...extra] }
  install(fake.window)
  return fake
}

const flushed = (fake: FakeWindow) => {
  fake.runTimers()
  return fake.sentEvents()
}

describe("browser tag", () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ["Date"] })
    vi.setSystemTime(NOW)
  })
  afterEach(() => {
    vi.useRealTimers()
  })

  it("replays the snippet queue: a page view on init, then the queued commands, in one beacon", () => {
    const fake = load({ href: "https://shop.example/p/sku-1?utm_source=x", referrer: "https://search.example/" }, {}, [
      "track",
      "product_view",
      { productId: "SKU-1", category: "shoes", unitPrice: 1999, currency: "EUR" }
    ])
    assert.strictEqual(fake.beacons.length, 0, "events wait for the flush timer")
    assert.strictEqual(fake.pendingTimers(), 1)
    const events = flushed(fake)
    assert.strictEqual(fake.beacons.length, 1)
    assert.strictEqual(fake.beacons[0]!.url, `${ENDPOINT}/collect`)
    assert.deepStrictEqual(
      events.map((e) => e.type),
      ["page_view", "product_view"]
    )
    const [page, view] = events as [any, any]
    assert.strictEqual(page.site, "demo")
    assert.strictEqual(page.url, "https://shop.example/p/sku-1?utm_source=x")
    assert.strictEqual(page.referrer, "https://search.example/")
    assert.strictEqual(page.clientTs, NOW)
    assert.strictEqual(view.productId, "SKU-1")
    assert.strictEqual(view.unitPrice, 1999)
    assert.strictEqual(view.currency, "EUR")
    assert.strictEqual(view.category, "shoes")
    assert.match(page.visitorId, /^[0-9a-f]{32}$/)
    assert.strictEqual(view.visitorId, page.visitorId)
    assert.match(page.id, /^[A-Za-z0-9_-]{16,64}$/)
    assert.notStrictEqual(page.id, view.id)
    assert.isUndefined(page.consent)
  })

  it("keeps the visitor id in a 13-month SameSite=Lax first-party cookie, and nowhere else", () => {
    const fake = load({ href: "https://shop.example/" })
    const [page] = flushed(fake) as [any]
    const write = fake.cookieWrites.find((c) => c.startsWith("_oa_vid="))!
    assert.strictEqual(write.split(";")[0], `_oa_vid=${page.visitorId}`)
    assert.include(write, ";max-age=34128000")
    assert.include(write, ";path=/")
    assert.include(write, ";SameSite=Lax")
    assert.include(write, ";Secure")
    assert.notInclude(write.toLowerCase(), "domain=")
    assert.strictEqual(fake.storage.size, 0)
  })

  it("reuses the visitor id from the cookie, and never respawns a deleted cookie from other storage", () => {
    const known = "0123456789abcdef0123456789abcdef"
    const fromCookie = load({ cookie: `other=1; _oa_vid=${known}` })
    assert.strictEqual((flushed(fromCookie)[0] as any).visitorId, known)

    const deleted = load({ localStorage: { _oa_vid: known } })
    const fresh = (flushed(deleted)[0] as any).visitorId
    assert.match(fresh, /^[0-9a-f]{32}$/)
    assert.notStrictEqual(fresh, known, "a visitor who deleted the cookie gets a new id")

    const forged = load({ cookie: "_oa_vid=<script>" })
    assert.match((flushed(forged)[0] as any).visitorId, /^[0-9a-f]{32}$/)
  })

  it("works when localStorage is disabled (it never uses it)", () => {
    const fake = load({ localStorage: "throws" })
    const [page] = flushed(fake) as [any]
    assert.match(page.visitorId, /^[0-9a-f]{32}$/)
  })

  for (const [signal, options] of [
    ["gpc", { gpc: true }],
    ["dnt", { navigatorDnt: "1" }],
    ["dnt", { windowDnt: "1" }],
    ["optout", { cookie: "_oa_optout=1" }]
  ] as const) {
    it(`creates and sends no visitor id under ${signal} (${JSON.stringify(options)}) but forwards the signals`, () => {
      const fake = load(options, {}, ["track", "add_to_cart", { productId: "SKU-1", quantity: 2 }])
      const events = flushed(fake) as Array<any>
      assert.strictEqual(events.length, 2)
      for (const event of events) {
        assert.isUndefined(event.visitorId)
        assert.strictEqual(event.consent[signal], true)
      }
      assert.isUndefined(fake.jar.get("_oa_vid"))
      assert.strictEqual(fake.storage.size, 0)
    })
  }

  it("removes a visitor id kept from before the visitor opted out, sent GPC or DNT, after sending it once more", () => {
    for (const options of [{ gpc: true }, { navigatorDnt: "1" }, { cookie: "_oa_optout=1" }]) {
      const old = "c0ffee00c0ffee00c0ffee00c0ffee00"
      const fake = load({ ...options, cookie: `_oa_vid=${old}; ${options.cookie ?? ""}` }, {}, [
        "track",
        "product_view",
        { productId: "SKU-9" }
      ])
      const events = flushed(fake) as Array<any>
      assert.strictEqual(events.length, 2)
      // The first event tells the server which pseudonym objected (it ends memberships and history under it)…
      assert.strictEqual(events[0].visitorId, old, JSON.stringify(options))
      assert.isTrue(events[0].consent.gpc || events[0].consent.dnt || events[0].consent.optout)
      // …and nothing is sent with it again.
      assert.isUndefined(events[1].visitorId)
      const removal = fake.cookieWrites.find((c) => c.startsWith("_oa_vid="))
      assert.isDefined(removal, JSON.stringify(options))
      assert.match(removal!, /^_oa_vid=;max-age=0;path=\//)
      assert.isUndefined(fake.jar.get("_oa_vid"))
    }
  })

  it("forgets an id it was using when the visitor opts out on the page, sending it once with the choice", () => {
    const fake = load()
    const [first] = flushed(fake) as [any]
    assert.match(first.visitorId, /^[0-9a-f]{32}$/)
    fake.window.navigator.globalPrivacyControl = true
    fake.window.oa("track", "product_view", { productId: "SKU-1" })
    fake.window.oa("track", "product_view", { productId: "SKU-2" })
    const [last, after] = flushed(fake).slice(1) as [any, any]
    assert.strictEqual(last.visitorId, first.visitorId)
    assert.isTrue(last.consent.gpc)
    assert.isUndefined(after.visitorId)
    assert.isUndefined(fake.jar.get("_oa_vid"))
  })

  it("never sends an id that is not one of its own from the cookie", () => {
    const fake = load({ gpc: true, cookie: "_oa_vid=<script>alert(1)</script>" })
    for (const event of flushed(fake) as Array<any>) assert.isUndefined(event.visitorId)
  })

  it('does not treat doNotTrack values other than "1" as a signal', () => {
    const fake = load({ navigatorDnt: "unspecified", gpc: false })
    const [page] = flushed(fake) as [any]
    assert.isDefined(page.visitorId)
    assert.isUndefined(page.consent)
  })

  it("calls made after the tag loaded are handled directly; unknown commands and types are ignored", () => {
    const fake = load()
    fake.window.oa("track", "conversion", {
      orderId: "order-7",
      conversionType: "purchase",
      currency: "EUR",
      value: 3998,
      items: [{ productId: "SKU,1;2", quantity: 2, unitPrice: 1999, category: "shoes & bags" }]
    })
    fake.window.oa("track", "constructor", {})
    fake.window.oa("track", "bogus", {})
    fake.window.oa("nonsense")
    fake.window.oa("page")
    const events = flushed(fake) as Array<any>
    assert.deepStrictEqual(
      events.map((e) => e.type),
      ["page_view", "conversion", "page_view"]
    )
    assert.deepStrictEqual(events[1].items, [
      { productId: "SKU,1;2", quantity: 2, unitPrice: 1999, category: "shoes & bags" }
    ])
    assert.strictEqual(events[1].value, 3998)
  })

  it("lets fields set the event id (to deduplicate with the conversions API) but not the type or site", () => {
    const fake = load()
    fake.window.oa("track", "conversion", {
      id: "order-7-conversion",
      type: "page_view",
      site: "other",
      orderId: "order-7",
      conversionType: "lead",
      items: []
    })
    const conversion = flushed(fake)[1] as any
    assert.strictEqual(conversion.type, "conversion")
    assert.strictEqual(conversion.site, "demo")
    assert.strictEqual(conversion.id, "order-7-conversion")
  })

  it("holds commands issued before init until init runs", () => {
    const fake = makeWindow()
    fake.window.oa = { q: [["track", "add_to_cart", { productId: "A", quantity: 1 }]] }
    install(fake.window)
    fake.runTimers()
    assert.strictEqual(fake.beacons.length, 0)
    fake.window.oa("init", "demo", { endpoint: ENDPOINT })
    assert.deepStrictEqual(
      flushed(fake).map((e) => e.type),
      ["page_view", "add_to_cart"]
    )
  })

  it("ignores a second init and a second copy of the tag", () => {
    const fake = load()
    fake.window.oa("init", "other", { endpoint: "https://elsewhere.example" })
    const oa = fake.window.oa
    install(fake.window)
    assert.strictEqual(fake.window.oa, oa)
    const events = flushed(fake)
    assert.strictEqual(events.length, 1)
    assert.strictEqual(fake.beacons[0]!.url, `${ENDPOINT}/collect`)
  })

  it("beforeSend can edit or drop events, and a throwing beforeSend drops the event", () => {
    const fake = load(
      {},
      {
        beforeSend: (event: any) => {
          if (event.type === "product_view") return null
          if (event.type === "add_to_cart") throw new Error("integrator bug")
          return {
            ...event,
            url: "https://shop.example/redacted",
            consent: { tcf: "CPXxRfAPXxRfAAfKABENB-CgAAAAAAAAAAYgAAAAAAAA" }
          }
        }
      }
    )
    fake.window.oa("track", "product_view", { productId: "A" })
    fake.window.oa("track", "add_to_cart", { productId: "A", quantity: 1 })
    const events = flushed(fake) as Array<any>
    assert.strictEqual(events.length, 1)
    assert.strictEqual(events[0].url, "https://shop.example/redacted")
    assert.strictEqual(events[0].consent.tcf, "CPXxRfAPXxRfAAfKABENB-CgAAAAAAAAAAYgAAAAAAAA")
  })

  it("sends page views on pushState and popstate URL changes, with the previous URL as referrer", () => {
    const fake = load({ href: "https://shop.example/" })
    fake.window.history.pushState({}, "", "/p/2")
    fake.window.history.replaceState({ scroll: 1 }, "", "/p/2")
    fake.window.history.replaceState({ scroll: 2 }, "")
    fake.popTo("https://shop.example/")
    const events = flushed(fake) as Array<any>
    assert.deepStrictEqual(
      events.map((e) => [e.type, e.url, e.referrer]),
      [
        ["page_view", "https://shop.example/", undefined],
        ["page_view", "https://shop.example/p/2", "https://shop.example/"],
        ["page_view", "https://shop.example/", "https://shop.example/p/2"]
      ]
    )
  })

  it("wrapped history methods still behave and return what the originals return", () => {
    const fake = makeWindow()
    fake.window.history.pushState = () => "original"
    fake.window.oa = { q: [["init", "demo", { endpoint: ENDPOINT }]] }
    install(fake.window)
    assert.strictEqual(fake.window.history.pushState({}, "", "/x"), "original")
  })

  it("with spa: false, route changes send nothing", () => {
    const fake = load({}, { spa: false })
    fake.window.history.pushState({}, "", "/p/2")
    assert.strictEqual(flushed(fake).length, 1)
  })

  it("engagement: labelled clicks with coarse pointer position, scroll depth and time on page on hide", () => {
    const fake = load({}, { engagement: true })
    fake.click(element("add-to-cart"), 250, 400)
    fake.click(element(null), 10, 10)
    fake.scrollTo(400)
    fake.scrollTo(100)
    vi.setSystemTime(NOW + 12_345)
    fake.hide()
    assert.strictEqual(fake.beacons.length, 1, "hiding flushes at once, without waiting for the timer")
    const events = fake.sentEvents() as Array<any>
    assert.deepStrictEqual(
      events.map((e) => e.type),
      ["page_view", "engagement", "engagement"]
    )
    assert.strictEqual(events[1].element, "add-to-cart")
    assert.strictEqual(events[1].pointerX, 25)
    assert.strictEqual(events[1].pointerY, 50)
    // (scrollY 400 + innerHeight 800) / scrollHeight 2000
    assert.strictEqual(events[2].scrollDepth, 60)
    assert.strictEqual(events[2].timeOnPage, 12_345)
    fake.pagehide()
    assert.strictEqual(fake.beacons.length, 1, "the summary is sent once per page")
  })

  it("engagement: a route change reports the page being left", () => {
    const fake = load({ href: "https://shop.example/a" }, { engagement: true })
    vi.setSystemTime(NOW + 5000)
    fake.window.history.pushState({}, "", "/b")
    const events = flushed(fake) as Array<any>
    assert.deepStrictEqual(
      events.map((e) => [e.type, e.url]),
      [
        ["page_view", "https://shop.example/a"],
        ["engagement", "https://shop.example/a"],
        ["page_view", "https://shop.example/b"]
      ]
    )
    assert.strictEqual(events[1].timeOnPage, 5000)
  })

  it("without the engagement option, clicks and scrolls are not listened to", () => {
    const fake = load()
    assert.isFalse(fake.documentListeners.some((l) => l.type === "click"))
    assert.isFalse(fake.windowListeners.some((l) => l.type === "scroll"))
    fake.hide()
    assert.deepStrictEqual(
      fake.sentEvents().map((e) => e.type),
      ["page_view"]
    )
  })

  it("flushes without waiting once 20 events are queued", () => {
    const fake = load()
    for (let i = 0; i < 19; i++) fake.window.oa("track", "add_to_cart", { productId: `P${i}`, quantity: 1 })
    assert.strictEqual(fake.beacons.length, 1)
    assert.strictEqual(fake.sentEvents().length, 20)
    assert.strictEqual(fake.pendingTimers(), 0)
  })

  it("splits batches over 64 KiB into several bodies, each within the budget", () => {
    const fake = load()
    const long = "https://shop.example/é" + "é".repeat(2000)
    for (let i = 0; i < 10; i++) fake.window.oa("track", "engagement", { url: long, scrollDepth: i })
    fake.runTimers()
    assert.isAbove(fake.beacons.length, 1)
    for (const { body } of fake.beacons) assert.isAtMost(new TextEncoder().encode(body).byteLength, 65536)
    assert.strictEqual(fake.sentEvents().length, 11)
  })

  it("sends batches with sendBeacon as text/plain (no preflight), never with fetch", () => {
    const fake = load()
    fake.runTimers()
    assert.strictEqual(fake.beacons.length, 1)
    assert.strictEqual(typeof fake.beacons[0]!.body, "string", "a string body is sent as text/plain")
    assert.strictEqual(fake.fetches.length, 0)
    assert.strictEqual(fake.images.length, 0)
  })

  it("falls back to GET pixels when sendBeacon refuses (over the keepalive quota), throws or is missing", async () => {
    for (const options of [
      { beacon: "refuse", fetch: "ok" },
      { beacon: "refuse", fetch: "reject" },
      { beacon: "throws", fetch: "ok" },
      { beacon: "missing", fetch: "missing" }
    ] as const) {
      const fake = load(options)
      fake.window.oa("track", "add_to_cart", { productId: "A", quantity: 1 })
      fake.runTimers()
      await new Promise((resolve) => setTimeout(resolve, 0))
      assert.strictEqual(fake.images.length, 2, JSON.stringify(options))
      assert.strictEqual(fake.fetches.length, 0, "fetch keepalive shares sendBeacon's quota: it is not tried")
      for (const src of fake.images) {
        assert.isTrue(src.startsWith(`${ENDPOINT}/px.gif?v=1&e=`))
        assert.isTrue(WireFormat.fitsGet(src))
        const decoded = WireFormat.decodeQuery(src.slice(src.indexOf("?")))
        assert.isTrue(Either.isRight(decoded))
        // The visitor id never travels in a URL (logs, histories, proxies): a GET pixel is identifier-free.
        assert.notMatch(src, /[?&]vid=/)
        if (Either.isRight(decoded)) assert.isUndefined((decoded.right as { visitorId?: string }).visitorId)
      }
    }
  })

  it("skips GET pixels for events too long for a URL", async () => {
    const fake = load({ beacon: "missing", fetch: "missing" })
    fake.window.oa("track", "engagement", { url: "https://shop.example/" + "x".repeat(2020) })
    fake.runTimers()
    await new Promise((resolve) => setTimeout(resolve, 0))
    assert.strictEqual(fake.images.length, 1, "only the page view fits")
  })

  it("truncates URLs and referrers to the model's 2,048 characters", () => {
    const long = "https://shop.example/" + "a".repeat(3000)
    const fake = load({ href: long, referrer: long })
    const [page] = flushed(fake) as [any]
    assert.strictEqual(page.url.length, 2048)
    assert.strictEqual(page.referrer.length, 2048)
  })

  it("never throws into the host page, even when the environment is broken", () => {
    const fake = makeWindow()
    Object.defineProperty(fake.window.document, "cookie", {
      get() {
        throw new Error("SecurityError")
      }
    })
    fake.window.crypto = undefined
    fake.window.oa = { q: [["init", "demo", { endpoint: ENDPOINT }]] }
    assert.doesNotThrow(() => install(fake.window))
    assert.doesNotThrow(() => fake.window.oa("track", "product_view", { productId: "A" }))
    assert.doesNotThrow(() => fake.window.oa())
    assert.doesNotThrow(() => fake.window.history.pushState({}, "", "/b"))
    assert.doesNotThrow(() => fake.hide())
    assert.doesNotThrow(() => fake.click({}, 1, 1))
  })

  describe("IAB TCF v2 CMP", () => {
    /** Nothing identifies the visitor: no visitor id on any event, no `_oa_vid` cookie, nothing in storage. */
    const assertNoVisitorId = (fake: FakeWindow, events: ReadonlyArray<any>) => {
      assert.isAbove(events.length, 0)
      for (const event of events) assert.isUndefined(event.visitorId)
      assert.isUndefined(fake.jar.get("_oa_vid"))
      // The only write allowed is the removal of an id kept from before (a standing GPC/DNT/opt-out choice).
      assert.isFalse(fake.cookieWrites.some((c) => c.startsWith("_oa_vid=") && !/;max-age=0;/.test(c)))
      assert.strictEqual(fake.storage.size, 0)
    }

    it("purpose 1 denied: events go without visitor id and no cookie is set, with the TC string", () => {
      const cmp = stubCmp({ initial: tcData({ purposes: [2, 3, 4, 7], vendors: [VENDOR_ID] }) })
      const fake = load({ tcfapi: cmp.api }, { tcfVendorId: VENDOR_ID }, [
        "track",
        "add_to_cart",
        { productId: "SKU-1", quantity: 1 }
      ])
      assert.deepStrictEqual(cmp.calls, [{ command: "addEventListener", version: 2 }])
      const events = flushed(fake) as Array<any>
      assert.deepStrictEqual(
        events.map((e) => e.type),
        ["page_view", "add_to_cart"]
      )
      assertNoVisitorId(fake, events)
      for (const event of events) {
        assert.deepStrictEqual(event.consent, {
          gpc: false,
          dnt: false,
          optout: false,
          tcf: TC_STRINGS.purpose1Denied,
          gdprApplies: true
        })
      }
    })

    it("purpose 1 and our vendor consented: the visitor id as usual, with the TC string", () => {
      const cmp = stubCmp({ initial: tcData({ purposes: [1, 2, 3, 4, 7], vendors: [VENDOR_ID] }) })
      const fake = load({ tcfapi: cmp.api }, { tcfVendorId: VENDOR_ID })
      const [page] = flushed(fake) as [any]
      assert.match(page.visitorId, /^[0-9a-f]{32}$/)
      assert.strictEqual(fake.jar.get("_oa_vid"), page.visitorId)
      assert.strictEqual(page.consent.tcf, TC_STRINGS.purpose1Granted)
      assert.isFalse(page.consent.gpc)
    })

    it("purpose 1 consented but not our vendor: no visitor id; without tcfVendorId purpose 1 alone decides", () => {
      const data = tcData({ purposes: [1, 2, 3, 4, 7], vendors: [VENDOR_ID + 1] })
      const withVendor = load({ tcfapi: stubCmp({ initial: data }).api }, { tcfVendorId: VENDOR_ID })
      assertNoVisitorId(withVendor, flushed(withVendor))

      const withoutVendor = load({ tcfapi: stubCmp({ initial: data }).api })
      assert.match((flushed(withoutVendor)[0] as any).visitorId, /^[0-9a-f]{32}$/)
    })

    it("GDPR does not apply: the visitor id as usual, and the TC string goes along", () => {
      const cmp = stubCmp({ initial: tcData({}, { gdprApplies: false }) })
      const fake = load({ tcfapi: cmp.api }, { tcfVendorId: VENDOR_ID })
      const [page] = flushed(fake) as [any]
      assert.match(page.visitorId, /^[0-9a-f]{32}$/)
      assert.strictEqual(page.consent.tcf, TC_STRINGS.purpose1Denied)
      assert.isFalse(page.consent.gdprApplies)
    })

    it("forwards the CMP's gdprApplies, so the server applies TCF whatever the location says", () => {
      const granted = load({ tcfapi: stubCmp({ initial: tcData({ purposes: [1], vendors: [VENDOR_ID] }) }).api })
      assert.isTrue((flushed(granted)[0] as any).consent.gdprApplies)
      // GDPR applies and the CMP has no TC string yet: the flag goes alone, the server denies without a string.
      const noString = load({ tcfapi: stubCmp({ initial: tcData({}, { tcString: undefined }) }).api })
      const [page] = flushed(noString) as [any]
      assert.deepStrictEqual(page.consent, { gpc: false, dnt: false, optout: false, gdprApplies: true })
      assertNoVisitorId(noString, [page])
      // On the wire as IAB's flag.
      assert.include(noString.beacons[0]!.body, "&gdpr=1")
    })

    it("GDPR does not apply and the CMP gives no TC string: the visitor id, and no consent object", () => {
      const cmp = stubCmp({ initial: tcData({}, { gdprApplies: false, tcString: undefined }) })
      const [page] = flushed(load({ tcfapi: cmp.api })) as [any]
      assert.match(page.visitorId, /^[0-9a-f]{32}$/)
      assert.isUndefined(page.consent)
    })

    it("a CMP that never answers: events wait (even 20 of them), then go after the timeout without visitor id", () => {
      const cmp = stubCmp()
      const fake = load({ tcfapi: cmp.api })
      for (let i = 0; i < 24; i++) fake.window.oa("track", "add_to_cart", { productId: `P${i}`, quantity: 1 })
      assert.strictEqual(fake.beacons.length, 0, "nothing goes while the CMP may still answer")
      assert.include(fake.timerDelays(), 500)
      fake.runTimers(500)
      assert.strictEqual(fake.beacons.length, 0, "after the timeout, the events go with the next batch")
      const events = flushed(fake) as Array<any>
      assert.strictEqual(events.length, 25)
      assertNoVisitorId(fake, events)
      for (const event of events) assert.isUndefined(event.consent.tcf)
      assert.strictEqual(cmp.listeners.length, 1)
    })

    it("cmpTimeout sets the wait; an answer within it counts, status cmpuishown and failed calls do not", () => {
      const cmp = stubCmp()
      const fake = load({ tcfapi: cmp.api }, { cmpTimeout: 3000, tcfVendorId: VENDOR_ID })
      assert.include(fake.timerDelays(), 3000)
      fake.runTimers(1000)
      assert.strictEqual(fake.beacons.length, 0, "the first batch waits for the CMP, beyond the usual second")
      const granted = tcData({ purposes: [1], vendors: [VENDOR_ID] })
      cmp.answer({ ...granted, eventStatus: "cmpuishown" })
      cmp.answer(granted, false)
      fake.runTimers(1000)
      assert.strictEqual(fake.beacons.length, 0, "the consent dialog is shown: no answer yet")
      cmp.answer({ ...granted, eventStatus: "useractioncomplete" })
      const [page] = flushed(fake) as [any]
      assert.match(page.visitorId, /^[0-9a-f]{32}$/)
      assert.strictEqual(page.consent.tcf, TC_STRINGS.purpose1Granted)
    })

    it("a later choice applies to the events sent after it: consent withdrawn, no visitor id any more", () => {
      const cmp = stubCmp({ initial: tcData({ purposes: [1], vendors: [VENDOR_ID] }) })
      const fake = load({ tcfapi: cmp.api })
      const id = (flushed(fake)[0] as any).visitorId
      assert.isDefined(id)
      cmp.answer(tcData({ purposes: [2] }, { eventStatus: "useractioncomplete" }))
      fake.window.oa("page")
      fake.window.oa("page")
      const later = flushed(fake).slice(1) as Array<any>
      assert.strictEqual(later.length, 2)
      // The withdrawal goes with the old id once (the server ends what was built under it), then never again.
      assert.strictEqual(later[0].visitorId, id)
      assert.isUndefined(later[1].visitorId)
      assert.strictEqual(later[0].consent.tcf, TC_STRINGS.purpose1Denied)
      assert.isUndefined(fake.jar.get("_oa_vid"))
    })

    it("the page is left before the CMP answered: the events go at once, without visitor id", () => {
      const fake = load({ tcfapi: stubCmp().api }, { engagement: true })
      fake.hide()
      assert.strictEqual(fake.beacons.length, 1)
      const events = fake.sentEvents() as Array<any>
      assert.deepStrictEqual(
        events.map((e) => e.type),
        ["page_view", "engagement"]
      )
      assertNoVisitorId(fake, events)
    })

    it("a throwing or broken CMP never throws into the page, and no visitor id is kept", () => {
      const throwing = stubCmp({ throws: true })
      const fake = makeWindow({ tcfapi: throwing.api })
      fake.window.oa = { q: [["init", "demo", { endpoint: ENDPOINT }]] }
      assert.doesNotThrow(() => install(fake.window))
      assert.doesNotThrow(() => fake.window.oa("track", "product_view", { productId: "A" }))
      assert.strictEqual(throwing.calls.length, 1)
      assertNoVisitorId(fake, flushed(fake))

      for (const answer of [null, "tcloaded", { eventStatus: "tcloaded", gdprApplies: true }]) {
        const broken = stubCmp()
        const page = load({ tcfapi: broken.api })
        assert.doesNotThrow(() => broken.answer(answer))
        assertNoVisitorId(page, flushed(page))
      }
      const notAFunction = load({ tcfapi: { cmp: "not a function" } })
      assertNoVisitorId(notAFunction, flushed(notAFunction))
    })

    it("a consent answer never overrides GPC, DNT or the opt-out cookie", () => {
      const granted = tcData({ purposes: [1], vendors: [VENDOR_ID] })
      for (const options of [{ gpc: true }, { navigatorDnt: "1" }, { cookie: "_oa_optout=1" }]) {
        const fake = load({ ...options, tcfapi: stubCmp({ initial: granted }).api })
        const [page] = flushed(fake) as [any]
        assertNoVisitorId(fake, [page])
        assert.strictEqual(page.consent.tcf, TC_STRINGS.purpose1Granted)
      }
    })

    it("a TC string longer than the event model allows is cut to 4,096 characters, so the event still decodes", () => {
      const long = TC_STRINGS.purpose1Denied + ".".repeat(5000)
      const fake = load({ tcfapi: stubCmp({ initial: tcData({}, { tcString: long }) }).api })
      const [page] = flushed(fake) as [any]
      assert.strictEqual(page.consent.tcf, long.slice(0, 4096))
    })

    it("without __tcfapi nothing waits and no consent object is sent", () => {
      const fake = load()
      assert.deepStrictEqual(fake.timerDelays(), [1000])
      const [page] = flushed(fake) as [any]
      assert.isDefined(page.visitorId)
      assert.isUndefined(page.consent)
    })
  })
})
