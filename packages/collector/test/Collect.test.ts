import { assert, describe, it } from "@effect/vitest"
import { DecisionCache, Policy } from "@openaudience/consent"
import type { Event, StoredEvent as Stored } from "@openaudience/event-schema"
import { emptyRequest, type NotStored, requestContext, toStored } from "../src/Collect.js"
import * as Tenant from "../src/Tenant.js"

type StoredEvent = Stored.StoredEvent

const tenantWith = (policy: Policy.Policy) =>
  Tenant.make(new Uint8Array(32).fill(1), { id: "t", name: "T", siteKeys: ["shop"], policy })

const event: Event.Event = {
  type: "page_view",
  id: "evt_collect_unit_1",
  site: "shop",
  visitorId: "vis_collect_unit_1",
  url: "https://shop.example/cart?coupon=X#top",
  referrer: "https://news.example/a/b?c=d"
}

const stored = (row: StoredEvent | NotStored): StoredEvent => {
  if (typeof row === "string") throw new Error(`expected a stored row, got ${row}`)
  return row
}

const eu = requestContext({ "x-country": "FR" }, { country: "x-country" })

describe("Collect.toStored", () => {
  it("drops what may not be collected when the policy says drop, and counts it without identifier otherwise", () => {
    const cache = DecisionCache.make()
    // No identifier without TCF consent in the EU, and this tenant wants no identifier-free events either.
    const strict = { ...Policy.defaultPolicy, allowIdentifierFreeEvents: false }
    const drop = tenantWith({ ...strict, disallowed: "drop" })
    const count = tenantWith({ ...Policy.defaultPolicy, disallowed: "count" })
    assert.strictEqual(toStored(cache, drop, event, eu, 1_764_000_000_000), "consent")
    const counted = stored(toStored(cache, count, event, eu, 1_764_000_000_000))
    assert.isNull(counted.visitor)
    assert.strictEqual((counted.consent as any).model, "opt-in")
  })

  it("never keeps an identifier for a child-directed tenant, even with no other signal", () => {
    const cache = DecisionCache.make()
    const child = tenantWith({ ...Policy.demo, childDirected: true })
    const childRow = stored(toStored(cache, child, event, emptyRequest, 1_764_000_000_000))
    assert.isNull(childRow.visitor)
    assert.isTrue((childRow.consent as any).decision.child)
    const adult = stored(toStored(cache, tenantWith(Policy.demo), event, emptyRequest, 1_764_000_000_000))
    assert.isString(adult.visitor)
  })

  it("keeps a keyed pseudonym, not the raw id, and strips URLs to what is safe to keep", () => {
    const row = stored(toStored(DecisionCache.make(), tenantWith(Policy.demo), event, emptyRequest, 1_764_000_000_000))
    assert.notStrictEqual(row.visitor, event.visitorId)
    assert.strictEqual(row.visitor!.length, 22)
    const payload = row.payload as any
    assert.strictEqual(payload.url, "https://shop.example/cart#top", "a parameter not allowlisted is dropped")
    assert.strictEqual(payload.referrer, "https://news.example")
    const other = Tenant.make(new Uint8Array(32).fill(2), {
      id: "t",
      name: "T",
      siteKeys: ["shop"],
      policy: Policy.demo
    })
    const again = stored(toStored(DecisionCache.make(), other, event, emptyRequest, 1_764_000_000_000))
    assert.notStrictEqual(again.visitor, row.visitor, "another secret gives another pseudonym")
  })
})
