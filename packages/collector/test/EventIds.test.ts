/**
 * Event id namespaces: events from the unauthenticated routes (the pixel, `POST /collect`) and from authenticated
 * server-to-server calls are stored under ids that can never collide (`Collect.storedId`), so neither can turn the
 * other into a duplicate, while a resent id is still a duplicate within its own namespace; answers name the ids the
 * sender chose.
 */
import { assert, describe, it } from "@effect/vitest"
import { Event, StoredEvent } from "@openaudience/event-schema"
import { WireFormat } from "@openaudience/pixel"
import * as Either from "effect/Either"
import * as fc from "effect/FastCheck"
import * as Redacted from "effect/Redacted"
import * as Collect from "../src/Collect.js"
import * as Collector from "../src/Collector.js"
import * as IngestKeys from "../src/IngestKeys.js"
import * as Sink from "../src/Sink.js"
import * as Tenant from "../src/Tenant.js"

const apiKey = "namespace-test-key"
const browser = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Firefox/133.0"

const setup = () => {
  const sink = Sink.memory()
  const tenants = Tenant.directory(new Uint8Array(32).fill(3), [Tenant.demo()])
  const collector = Collector.make({
    tenants,
    sink,
    now: () => 1_764_100_000_000,
    ingestKeys: IngestKeys.make([{ key: Redacted.make(apiKey), tenant: tenants.bySite("demo")! }])
  })
  const answerOf = (run: (answer: (answer: Collector.Answer) => void) => void): any => {
    let answer: Collector.Answer | undefined
    run((a) => {
      answer = a
    })
    if (answer === undefined) throw new Error("no answer (the memory sink answers synchronously)")
    return answer.headers["content-type"] === "image/gif"
      ? answer
      : { status: answer.status, ...JSON.parse(answer.body as string) }
  }
  const request = () => collector.browserContext({ "user-agent": browser }, "198.51.100.20")
  const headers = { authorization: `Bearer ${apiKey}`, "content-type": "application/json" }
  return {
    sink,
    pixel: (event: Event.Event) => answerOf((a) => collector.pixel(request(), WireFormat.encodeQuery(event), a)),
    collect: (events: ReadonlyArray<Event.Event>) =>
      answerOf((a) => collector.collect(request(), WireFormat.encodeBatch(events).bodies[0]!, a)),
    serverToServer: (events: ReadonlyArray<Event.Event>) => {
      const authorization = collector.authorize(headers)
      if (authorization._tag === "Refused") throw new Error("refused")
      return answerOf((a) => collector.events(authorization.tenant, headers, JSON.stringify(events), a))
    },
    /** The rows kept for the id the sender chose, with where they came from. */
    rowsFor: (id: string) =>
      sink
        .rows()
        .filter((row) => Collect.sentId(row.eventId).id === id)
        .map((row) => ({ source: Collect.sentId(row.eventId).source, row }))
  }
}

let n = 0
const lead = (value: number): Event.Conversion => ({
  type: "conversion",
  id: `lead.${(n++).toString(36)}.namespaced`.replaceAll(".", "_"),
  site: "demo",
  visitorId: "vis_namespace_core_2",
  orderId: `crm-${n}`,
  conversionType: "lead",
  currency: "USD",
  value,
  items: []
})

describe("event id namespaces", () => {
  it("stores and accepts a server-to-server event whose id the pixel took first", () => {
    const c = setup()
    const squatted = lead(1)
    assert.strictEqual(c.pixel(squatted).status, 200)
    const real = { ...squatted, value: 31_000 }
    const answer = c.serverToServer([real])
    assert.deepStrictEqual(answer.events, [{ index: 0, id: real.id, status: "accepted" }])
    const rows = c.rowsFor(real.id)
    assert.deepStrictEqual(
      rows.map(({ source, row }) => [source, (row.payload as any).value]),
      [
        ["browser", 1],
        ["server", 31_000]
      ]
    )
  })

  it("keeps a server-to-server event that the pixel and a batch later send again under its id", () => {
    const c = setup()
    const real = lead(52_000)
    assert.strictEqual(c.serverToServer([real]).accepted, 1)
    const [before] = c.rowsFor(real.id)
    assert.strictEqual(c.pixel({ ...real, value: 2 }).status, 200)
    const batch = c.collect([{ ...real, value: 3 }])
    assert.deepStrictEqual(batch.events, [{ index: 0, id: real.id, status: "duplicate" }])
    const rows = c.rowsFor(real.id)
    assert.strictEqual(rows.length, 2)
    assert.deepStrictEqual(
      rows.find((r) => r.source === "server"),
      before
    )
    assert.strictEqual((rows.find((r) => r.source === "browser")!.row.payload as any).value, 2)
  })

  it("still deduplicates within each namespace, and names the sender's ids in every answer", () => {
    const c = setup()
    const fromServer = lead(400)
    const fromBrowser = lead(500)
    assert.deepStrictEqual(
      c.serverToServer([fromServer, fromServer]).events.map((e: any) => [e.id, e.status]),
      [
        [fromServer.id, "accepted"],
        [fromServer.id, "duplicate"]
      ]
    )
    assert.deepStrictEqual(c.serverToServer([fromServer]).events, [
      { index: 0, id: fromServer.id, status: "duplicate" }
    ])
    c.pixel(fromBrowser)
    c.pixel(fromBrowser)
    assert.deepStrictEqual(c.collect([fromBrowser]).events, [{ index: 0, id: fromBrowser.id, status: "duplicate" }])
    assert.deepStrictEqual(
      [...c.rowsFor(fromServer.id), ...c.rowsFor(fromBrowser.id)].map(({ source }) => source),
      ["server", "browser"]
    )
  })

  it("keeps a server-to-server objection record apart from one a pixel sent first under the same id", () => {
    const c = setup()
    const shared = lead(7)
    // Both carry a visitor id their signals no longer allow: each leaves an objection record for its own pseudonym.
    c.pixel({ ...shared, visitorId: "vis_namespace_objA", consent: { optout: true } })
    const answer = c.serverToServer([{ ...shared, visitorId: "vis_namespace_objB", consent: { gpc: true } }])
    assert.deepStrictEqual(answer.events, [{ index: 0, id: shared.id, status: "accepted" }])
    const objections = c.sink.rows().filter((row) => row.type === StoredEvent.objectionType)
    assert.strictEqual(objections.length, 2)
    assert.strictEqual(new Set(objections.map((row) => row.visitor)).size, 2)
  })

  it("gives no id an unauthenticated sender can use to the server namespace", () => {
    fc.assert(
      fc.property(fc.string({ minLength: 0, maxLength: 70 }), (suffix) => {
        const id = `${Collect.serverIdPrefix}${suffix}`
        // Whatever follows the prefix, no event with such an id decodes, through the schema or the wire format.
        assert.isTrue(Either.isLeft(Event.decodeUnknown({ ...lead(1), id })))
        assert.isTrue(Either.isLeft(WireFormat.decodeQuery(WireFormat.encodeQuery({ ...lead(1), id } as Event.Event))))
      })
    )
    const c = setup()
    const forged = lead(6)
    const answer = c.pixel({ ...forged, id: Collect.storedId(forged.id, "server") })
    assert.strictEqual(answer.status, 400)
    assert.strictEqual(answer.field, "id")
    assert.deepStrictEqual(c.sink.rows(), [])
  })

  it("reads the sender's id and source back from any stored id", () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[A-Za-z0-9_-]{8,64}$/), fc.constantFrom("browser", "server"), (id, source) => {
        const stored = Collect.storedId(id, source as Collect.Source)
        assert.deepStrictEqual(Collect.sentId(stored), { id, source })
        assert.strictEqual(stored === id, source === "browser")
      })
    )
  })
})
