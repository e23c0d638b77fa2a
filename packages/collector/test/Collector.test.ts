/**
 * The collector's core without any HTTP server: the answers of its three routes, what reaches the sink, what is
 * counted, sink failures answered 503 with Retry-After, and WHATWG `Headers` read like Node records (a GPC, DNT or
 * opt-out-cookie request keeps no identifier either way).
 */
import { assert, describe, it } from "@effect/vitest"
import { Ip } from "@openaudience/anonymizer"
import type { Event, StoredEvent } from "@openaudience/event-schema"
import { Gif, WireFormat } from "@openaudience/pixel"
import * as Either from "effect/Either"
import * as fc from "effect/FastCheck"
import * as Redacted from "effect/Redacted"
import type * as Collect from "../src/Collect.js"
import * as Collector from "../src/Collector.js"
import * as IngestKeys from "../src/IngestKeys.js"
import type * as Metrics from "../src/Metrics.js"
import * as Sink from "../src/Sink.js"
import * as Tenant from "../src/Tenant.js"

const apiKey = "core-test-key"
const browser = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"

const setup = (sink: Sink.Sink = Sink.memory()) => {
  const tenants = Tenant.directory(new Uint8Array(32).fill(9), [
    Tenant.demo(),
    { id: "other", name: "Other", siteKeys: ["other"], policy: Tenant.demo().policy }
  ])
  const counted: Array<string> = []
  const metrics: Metrics.Metrics = {
    countEvent: (type, outcome) => counted.push(`${type} ${outcome}`),
    countRequest: (route, status) => counted.push(`${route} ${status}`)
  }
  const collector = Collector.make({
    tenants,
    sink,
    now: () => 1_764_000_000_000,
    metrics,
    ingestKeys: IngestKeys.make([{ key: Redacted.make(apiKey), tenant: tenants.bySite("demo")! }])
  })
  return { collector, counted }
}

let n = 0
const pageView = (fields: Partial<Event.PageView> = {}): Event.Event => ({
  type: "page_view",
  id: `evt_core_${(n++).toString(36).padStart(4, "0")}`,
  site: "demo",
  visitorId: "vis_core_visitor_1",
  url: "https://shop.example/?email=jane%40example.com",
  ...fields
})

const answerOf = (run: (answer: (answer: Collector.Answer) => void) => void): Collector.Answer => {
  let answer: Collector.Answer | undefined
  run((a) => {
    answer = a
  })
  if (answer === undefined) throw new Error("no answer (the memory sink answers synchronously)")
  return answer
}

const json = (answer: Collector.Answer): any => JSON.parse(answer.body as string)

const context = (collector: Collector.Collector, headers: Collect.Headers = { "user-agent": browser }) =>
  collector.browserContext(headers, "203.0.113.9")

const failing = (failure: Sink.Failure): Sink.Sink => ({
  append: (_rows, done) => done(failure),
  store: (_rows, done) => done({ _tag: "Failed", ...failure })
})

const s2sHeaders = { authorization: `Bearer ${apiKey}`, "content-type": "application/json" }

const events = (collector: Collector.Collector, body: string, headers: Collect.Headers = s2sHeaders) => {
  const authorization = collector.authorize(headers)
  if (authorization._tag === "Refused") return authorization.answer
  return answerOf((answer) => collector.events(authorization.tenant, headers, body, answer))
}

describe("Collector", () => {
  it("answers a pixel with the GIF and hands the sink an anonymized row", () => {
    const sink = Sink.memory()
    const { collector, counted } = setup(sink)
    const event = pageView()
    const answer = answerOf((a) => collector.pixel(context(collector), WireFormat.encodeQuery(event), a))
    assert.strictEqual(answer.status, 200)
    assert.strictEqual(answer.headers["content-type"], "image/gif")
    assert.deepStrictEqual(answer.body, Gif.bytes)
    const [row] = sink.rows()
    assert.strictEqual(row?.eventId, event.id)
    assert.notStrictEqual(row?.visitor, event.visitorId)
    assert.strictEqual((row!.payload as any).url, "https://shop.example/")
    assert.strictEqual((row!.payload as any).context.ip, "203.0.113.0")
    assert.include(counted, "pixel 200")
  })

  it("answers bad pixels and batches with problems naming the field", () => {
    const { collector } = setup()
    const unknownSite = answerOf((a) =>
      collector.pixel(context(collector), WireFormat.encodeQuery(pageView({ site: "nosuchsite" })), a)
    )
    assert.strictEqual(unknownSite.status, 400)
    assert.strictEqual(unknownSite.headers["content-type"], "application/problem+json")
    assert.strictEqual(json(unknownSite).type, "https://openaudience.dev/problems/invalid-event")
    assert.strictEqual(json(unknownSite).field, "site")
    const [body] = WireFormat.encodeBatch([pageView(), pageView()]).bodies
    const batch = answerOf((a) => collector.collect(context(collector), `${body}\ne=pv&s=demo`, a))
    assert.strictEqual(batch.status, 400)
    assert.strictEqual(json(batch).accepted, 2)
    assert.strictEqual(json(batch).rejected, 1)
    const garbage = answerOf((a) => collector.collect(context(collector), "not a batch", a))
    assert.strictEqual(json(garbage).type, "https://openaudience.dev/problems/invalid-body")
  })

  it("answers 503 with Retry-After when the sink fails, and counts the events as failed", () => {
    const { collector, counted } = setup(failing({ message: "the store is full", retryAfterSeconds: 30 }))
    const pixel = answerOf((a) => collector.pixel(context(collector), WireFormat.encodeQuery(pageView()), a))
    assert.strictEqual(pixel.status, 503)
    assert.strictEqual(pixel.headers["retry-after"], "30")
    assert.strictEqual(json(pixel).detail, "the store is full")
    const [body] = WireFormat.encodeBatch([pageView()]).bodies
    const batch = setup(failing({ message: "down" })).collector
    const answer = answerOf((a) => batch.collect(context(batch), body!, a))
    assert.strictEqual(answer.status, 503)
    assert.strictEqual(answer.headers["retry-after"], "1")
    assert.include(counted, "page_view failed")
  })

  it("takes server-to-server events only with an ingest key, as JSON, for the key's own sites", () => {
    const sink = Sink.memory()
    const { collector } = setup(sink)
    const first = pageView()
    assert.strictEqual(events(collector, JSON.stringify([first]), { "content-type": "application/json" }).status, 401)
    assert.strictEqual(events(collector, "[]", { ...s2sHeaders, authorization: "Bearer wrong" }).status, 401)
    assert.strictEqual(events(collector, "[]", { ...s2sHeaders, "content-type": "text/plain" }).status, 415)
    assert.strictEqual(events(collector, "[]").status, 400)
    assert.strictEqual(events(collector, JSON.stringify(Array.from({ length: 501 }, () => pageView()))).status, 400)
    assert.match(json(events(collector, "[".repeat(100) + "]".repeat(100))).detail, /nested/)
    const answer = events(collector, JSON.stringify({ events: [first, first, pageView({ site: "other" })] }))
    assert.deepStrictEqual(
      json(answer).events.map((e: any) => e.status),
      ["accepted", "duplicate", "rejected"]
    )
    assert.strictEqual(json(answer).field, "events[2].site")
    const ok = events(collector, JSON.stringify([pageView()]), new Headers(s2sHeaders))
    assert.strictEqual(ok.status, 200)
    assert.strictEqual(json(ok).accepted, 1)
    assert.strictEqual(sink.rows().length, 2)
  })

  it("reads Sec-GPC, DNT and the opt-out cookie from WHATWG Headers as from Node records", () => {
    const sink = Sink.memory()
    const { collector } = setup(sink)
    const cases: ReadonlyArray<Record<string, string>> = [
      { "sec-gpc": "1" },
      { dnt: "1" },
      { cookie: "other=1; oa_optout=1" }
    ]
    for (const signal of cases) {
      const withBrowser = { ...signal, "user-agent": browser }
      for (const headers of [withBrowser, new Headers(withBrowser)]) {
        const event = pageView()
        answerOf((a) => collector.pixel(context(collector, headers), WireFormat.encodeQuery(event), a))
        const row = sink.rows().find((r) => r.eventId === event.id)
        assert.isNull(row?.visitor, JSON.stringify(signal))
        assert.isFalse((row!.consent as any).decision.identifier)
      }
    }
    const plain = pageView()
    answerOf((a) =>
      collector.pixel(context(collector, new Headers({ "user-agent": browser })), WireFormat.encodeQuery(plain), a)
    )
    assert.isString(sink.rows().find((r) => r.eventId === plain.id)?.visitor)
  })

  it("believes a WHATWG request's forwarding header only from a trusted proxy, and keeps its truncation", () => {
    const stored = (proxies: Ip.TrustedProxies | undefined): StoredEvent.StoredEvent => {
      const sink = Sink.memory()
      const collector = Collector.make({
        tenants: Tenant.directory(new Uint8Array(32), [Tenant.demo()]),
        sink,
        now: () => 0,
        proxies
      })
      const request = collector.browserContext(
        new Headers({ "x-forwarded-for": "198.51.100.77", "user-agent": browser }),
        "127.0.0.1"
      )
      answerOf((a) => collector.pixel(request, WireFormat.encodeQuery(pageView()), a))
      return sink.rows()[0]!
    }
    assert.strictEqual((stored(undefined).payload as any).context.ip, "127.0.0.0")
    const loopback = Either.getOrThrow(Ip.trustedProxies("loopback"))
    assert.strictEqual((stored(loopback).payload as any).context.ip, "198.51.100.0")
  })

  it("answers any server-to-server body with a problem or per-event results, never a throw", () => {
    const { collector } = setup()
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ unit: "binary" }),
          fc.jsonValue().map((value) => JSON.stringify(value))
        ),
        (body) => {
          const answer = events(collector, body)
          assert.oneOf(answer.status, [200, 400])
          assert.isObject(json(answer))
        }
      )
    )
  })
})
