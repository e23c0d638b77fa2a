/**
 * Tenant: the remembered pseudonyms are the HMAC itself, for recent and evicted visitors alike, and differ between
 * tenants (each has its own key).
 */
import { assert, describe, it } from "@effect/vitest"
import { Pseudonym } from "@openaudience/anonymizer"
import { Policy } from "@openaudience/consent"
import * as Tenant from "../src/Tenant.js"

const spec = (id: string): Tenant.TenantSpec => ({
  id,
  name: id,
  siteKeys: [`site-${id}`],
  policy: Policy.demo
})

describe("Tenant", () => {
  it("pseudonyms are the tenant's HMAC, before and after the cache forgets them", () => {
    const tenants = Tenant.directory(new Uint8Array(32).fill(3), [spec("a"), spec("b")])
    const a = tenants.byId("a")!
    const b = tenants.byId("b")!
    const ids = Array.from({ length: 60_000 }, (_, n) => `visitor-${n}`)
    for (const id of ids) assert.strictEqual(a.pseudonym(id), Pseudonym.visitorKey(a.visitorKey, id))
    // The first ids were evicted by now; asked again, the same keys.
    for (const id of ids.slice(0, 100)) assert.strictEqual(a.pseudonym(id), Pseudonym.visitorKey(a.visitorKey, id))
    assert.notStrictEqual(a.pseudonym("visitor-1"), b.pseudonym("visitor-1"))
  })
})
