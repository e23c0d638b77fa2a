import { assert, describe, it } from "@effect/vitest"
import { type Ip, SaltStore, UserAgent } from "@openaudience/anonymizer"
import { DecisionCache, type Jurisdiction, Policy } from "@openaudience/consent"
import { Event, type StoredEvent } from "@openaudience/event-schema"
import { Arbitrary, FastCheck as fc } from "effect"
import type * as Schema from "effect/Schema"
import { orderHash, type RequestContext, toStored } from "../src/Collect.js"
import * as Tenant from "../src/Tenant.js"

const secret = new Uint8Array(32).fill(11)
const spec = (id: string, cookieless: boolean): Tenant.TenantSpec => ({
  id,
  name: id,
  siteKeys: [`${id}-${cookieless ? "c" : "p"}`],
  policy: Policy.demo,
  cookieless
})
const tenants = [
  Tenant.make(secret, spec("shop-a", false)),
  Tenant.make(secret, spec("shop-a", true)),
  Tenant.make(secret, spec("shop-b", false))
]

const hourMs = 3_600_000

const userAgents = [
  "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
  "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
  "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
  undefined
]

const jurisdictions: ReadonlyArray<Jurisdiction.Jurisdiction> = ["EU", "US", "US-CA", "other", "unknown"]

const requests: fc.Arbitrary<RequestContext> = fc.record({
  signals: fc.record({ gpc: fc.boolean(), dnt: fc.boolean(), optout: fc.boolean() }),
  jurisdiction: fc.constantFrom(...jurisdictions),
  ip: fc.constantFrom<Ip.Truncated | undefined>(
    "203.0.113.0" as Ip.Truncated,
    "2001:db8:42::" as Ip.Truncated,
    "unknown" as Ip.Truncated,
    undefined
  ),
  userAgent: fc.constantFrom(...userAgents).map(UserAgent.generalize),
  salt: fc.option(fc.constant(new SaltStore.Salt("2026-12-05" as SaltStore.Day, new Uint8Array(32).fill(3))), {
    nil: undefined
  })
})

/** An order id that cannot occur by chance in a stored row (so a substring search means a leak). */
const orderIds = fc.stringMatching(/^[A-Za-z0-9]{12,40}$/).map((s) => `ORD-${s}`)

const anyEvent: fc.Arbitrary<Event.Event> = fc.oneof(
  ...Event.eventTypes.map((type) => Arbitrary.make(Event.schemas[type] as Schema.Schema<Event.Event>))
)

/** Random events, conversions carrying an order id of `orderIds`, with and without a first-party id. */
const events: fc.Arbitrary<{ readonly event: Event.Event; readonly orderId: string | undefined }> = fc
  .tuple(anyEvent, orderIds, fc.option(fc.constant("fp-visitor-1"), { nil: undefined }))
  .map(([event, orderId, visitorId]) => {
    const { visitorId: _, ...rest } = event as Event.Event & { visitorId?: string }
    const base = visitorId === undefined ? rest : { ...rest, visitorId }
    return event.type === "conversion"
      ? { event: { ...base, orderId } as Event.Event, orderId }
      : { event: base as Event.Event, orderId: undefined }
  })

/** A stored row with its payload readable (the collector stores an object). */
type Row = Omit<StoredEvent.StoredEvent, "payload"> & { readonly payload: Record<string, unknown> }

const stored = (
  tenant: Tenant.Tenant,
  event: Event.Event,
  request: RequestContext,
  receivedAt: number
): Row | undefined => {
  const row = toStored(DecisionCache.make(), tenant, event, request, receivedAt)
  return typeof row === "string" ? undefined : (row as Row)
}

const conversion = (orderId: string, visitorId?: string): Event.Event =>
  ({
    type: "conversion",
    id: "01JEXAMPLE0000000000000000",
    site: "s",
    orderId,
    conversionType: "lead",
    items: [],
    ...(visitorId === undefined ? {} : { visitorId })
  }) as unknown as Event.Event

/** The EU decides no identifier without consent; the US (opt-out) allows one. */
const identifierFree: RequestContext = {
  signals: { gpc: false, dnt: false, optout: false },
  jurisdiction: "EU",
  ip: "198.51.100.0" as Ip.Truncated,
  userAgent: UserAgent.generalize(userAgents[0])
}

describe("Collect.toStored: identifier-free events keep no quasi-identifiers", () => {
  it("a row without a visitor has no address, browser version or OS, times on the hour and no raw order id", () => {
    let identifierFreeRows = 0
    let conversionsHashed = 0
    fc.assert(
      fc.property(
        fc.constantFrom(...tenants),
        events,
        requests,
        fc.integer({ min: 1_600_000_000_000, max: 2_000_000_000_000 }),
        (tenant, { event, orderId }, request, receivedAt) => {
          const row = stored(tenant, event, request, receivedAt)
          if (row === undefined || row.visitor !== null) return
          identifierFreeRows++
          const context = row.payload.context as Record<string, unknown>
          assert.isFalse("ip" in context, "no address")
          assert.isFalse("browserMajor" in context, "no browser version")
          assert.isFalse("os" in context, "no OS")
          assert.strictEqual(row.receivedAt % hourMs, 0)
          assert.isTrue(row.receivedAt <= receivedAt && receivedAt - row.receivedAt < hourMs)
          if (row.clientTs !== null) assert.strictEqual(((row.clientTs % hourMs) + hourMs) % hourMs, 0)
          if (orderId !== undefined) {
            conversionsHashed++
            assert.isFalse(JSON.stringify(row).includes(orderId), "the order id is nowhere in the row")
            assert.isFalse("orderId" in row.payload)
            assert.strictEqual(row.payload.orderHash, orderHash(tenant, orderId))
          }
        }
      ),
      { numRuns: 400 }
    )
    // The property says something only if identifier-free rows and conversions among them were generated.
    assert.isAbove(identifierFreeRows, 20)
    assert.isAbove(conversionsHashed, 0)
  })

  it("an identified row keeps its context, times and order id as sent", () => {
    const tenant = tenants[0]!
    const request: RequestContext = { ...identifierFree, jurisdiction: "US" }
    const identified = stored(
      tenant,
      { ...conversion("ORD-1234567890", "fp-visitor-1"), clientTs: 1_764_000_123_456 } as Event.Event,
      request,
      1_764_000_654_321
    )!
    assert.isNotNull(identified.visitor)
    assert.strictEqual(identified.receivedAt, 1_764_000_654_321)
    assert.strictEqual(identified.clientTs, 1_764_000_123_456)
    assert.strictEqual(identified.payload.orderId, "ORD-1234567890")
    assert.isFalse("orderHash" in identified.payload)
    assert.deepStrictEqual(identified.payload.context, {
      ip: "198.51.100.0",
      browser: "Chrome",
      browserMajor: "131",
      os: "Windows",
      device: "desktop",
      jurisdiction: "US"
    })
  })

  it("an identifier-free row keeps the browser family, device class and jurisdiction, times cut to the hour", () => {
    const row = stored(
      tenants[0]!,
      { ...conversion("ORD-1234567890", "fp-visitor-1"), clientTs: 1_764_000_123_456 } as Event.Event,
      identifierFree,
      1_764_000_654_321
    )!
    assert.isNull(row.visitor)
    assert.deepStrictEqual(row.payload.context, { browser: "Chrome", device: "desktop", jurisdiction: "EU" })
    assert.strictEqual(row.receivedAt, 1_764_000_000_000)
    assert.strictEqual(row.clientTs, 1_764_000_000_000)
    assert.match(row.payload.orderHash as string, /^oh_[A-Za-z0-9_-]{22}$/)
  })

  it("the same order id hashes the same within a tenant and differently across tenants", () => {
    fc.assert(
      fc.property(orderIds, orderIds, (a, b) => {
        const hashOf = (tenant: Tenant.Tenant, orderId: string) =>
          stored(tenant, conversion(orderId), identifierFree, 1_764_000_000_000)!.payload.orderHash
        const [shopA, shopACookieless, shopB] = tenants
        assert.strictEqual(hashOf(shopA!, a), hashOf(shopA!, a))
        // The key is the tenant's, whatever its mode.
        assert.strictEqual(hashOf(shopA!, a), hashOf(shopACookieless!, a))
        assert.notStrictEqual(hashOf(shopA!, a), hashOf(shopB!, a))
        if (a !== b) assert.notStrictEqual(hashOf(shopA!, a), hashOf(shopA!, b))
      }),
      { numRuns: 100 }
    )
  })
})
