/**
 * Objections: an event carrying a first-party visitor id whose own decision forbids an identifier (the visitor
 * objected, however the signal arrived) leaves an objection record with that id's pseudonym and nothing else; the
 * event itself stays identifier-free. One record per objecting pseudonym until it is identified again; a record the
 * sink could not take is recorded again next time.
 */
import { assert, describe, it } from "@effect/vitest"
import { type Event, StoredEvent } from "@openaudience/event-schema"
import { WireFormat } from "@openaudience/pixel"
import * as fc from "effect/FastCheck"
import * as Collector from "../src/Collector.js"
import * as Sink from "../src/Sink.js"
import * as Tenant from "../src/Tenant.js"

const browser = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"
const secret = new Uint8Array(32).fill(4)

const setup = (sink: Sink.Sink, cookieless = false) => {
  const tenants = Tenant.directory(secret, [Tenant.demo(cookieless)])
  const collector = Collector.make({ tenants, sink, now: () => Date.UTC(2026, 10, 3, 14, 25) })
  return { collector, tenant: tenants.bySite("demo")! }
}

/** The ways an objection reaches the collector: request headers, the opt-out cookie, or what the tag forwarded. */
const objecting = [
  { name: "Sec-GPC", headers: { "sec-gpc": "1" }, consent: undefined },
  { name: "DNT", headers: { dnt: "1" }, consent: undefined },
  { name: "opt-out cookie", headers: { cookie: "theme=dark; oa_optout=1" }, consent: undefined },
  { name: "GPC from the tag", headers: {}, consent: { gpc: true } },
  { name: "opt-out from the tag", headers: {}, consent: { optout: true } }
] as const

let n = 0
const view = (visitorId: string | undefined, consent?: Event.Event["consent"]): Event.Event => ({
  type: "product_view",
  id: `obj_${(n++).toString(36).padStart(6, "0")}`,
  site: "demo",
  url: "https://shop.example/p/lamp-07?utm_source=mail",
  productId: "lamp-07",
  category: "Lighting",
  ...(visitorId === undefined ? {} : { visitorId }),
  ...(consent === undefined ? {} : { consent })
})

const send = (collector: Collector.Collector, event: Event.Event, headers: Record<string, string> = {}) => {
  let status = 0
  collector.pixel(
    collector.browserContext({ "user-agent": browser, ...headers }, "198.51.100.23"),
    WireFormat.encodeQuery(event),
    (answer) => {
      status = answer.status
    }
  )
  return status
}

const visitorIds = fc.stringMatching(/^[0-9a-f]{32}$/)

describe("objection records", () => {
  it("come from every objecting signal, carry only the pseudonym and time, and leave the event identifier-free", () => {
    fc.assert(
      fc.property(visitorIds, fc.constantFrom(...objecting), (visitorId, signal) => {
        const sink = Sink.memory()
        const { collector, tenant } = setup(sink)
        const event = view(visitorId, signal.consent)
        assert.strictEqual(send(collector, event, signal.headers), 200)
        const rows = sink.rows()
        const objections = rows.filter((row) => row.type === StoredEvent.objectionType)
        assert.lengthOf(objections, 1, signal.name)
        const [objection] = objections
        assert.deepStrictEqual(
          { ...objection!, consent: null },
          {
            tenant: tenant.id,
            eventId: `${StoredEvent.objectionIdPrefix}${event.id}`,
            type: StoredEvent.objectionType,
            site: "demo",
            receivedAt: Date.UTC(2026, 10, 3, 14, 25),
            clientTs: null,
            visitor: tenant.pseudonym(visitorId),
            payload: {},
            consent: null
          }
        )
        assert.isFalse(objection!.consent!.decision.identifier, "the receipt is the refusing decision's")
        for (const row of rows) assert.notInclude(JSON.stringify(row), visitorId, "never the raw id")
        for (const row of rows.filter((r) => r.type !== StoredEvent.objectionType)) assert.isNull(row.visitor)
      }),
      { numRuns: 60 }
    )
  })

  it("are not made without an id, with consent, or in cookieless mode", () => {
    const sink = Sink.memory()
    const { collector } = setup(sink)
    send(collector, view(undefined), { "sec-gpc": "1" })
    send(collector, view("0123456789abcdef0123456789abcdef"))
    const cookieless = Sink.memory()
    send(setup(cookieless, true).collector, view("fedcba9876543210fedcba9876543210"), { "sec-gpc": "1" })
    const types = [...sink.rows(), ...cookieless.rows()].map((row) => row.type)
    assert.notInclude(types, StoredEvent.objectionType)
    assert.isNotNull(sink.rows().find((row) => row.type === "product_view" && row.visitor !== null))
  })

  it("are recorded once per objection, again after the pseudonym was identified, and again after a failure", () => {
    let down = false
    const memory = Sink.memory()
    const sink: Sink.Sink = {
      append: (rows, done) => (down ? done({ message: "down" }) : memory.append(rows, done)),
      store: (rows, done) => (down ? done({ _tag: "Failed", message: "down" }) : memory.store(rows, done))
    }
    const { collector } = setup(sink)
    const id = "a1b2c3d4e5f60718293a4b5c6d7e8f90"
    const count = () => memory.rows().filter((row) => row.type === StoredEvent.objectionType).length
    down = true
    assert.strictEqual(send(collector, view(id), { "sec-gpc": "1" }), 503)
    down = false
    send(collector, view(id), { "sec-gpc": "1" })
    assert.strictEqual(count(), 1, "the failed one is recorded when the sink is back")
    send(collector, view(id), { dnt: "1" })
    send(collector, view(id, { optout: true }))
    assert.strictEqual(count(), 1, "a standing objection is recorded once")
    send(collector, view(id))
    send(collector, view(id), { "sec-gpc": "1" })
    assert.strictEqual(count(), 2, "identified again, then a new objection")
  })
})
