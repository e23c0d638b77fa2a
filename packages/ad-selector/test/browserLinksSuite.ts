/**
 * The behaviour of every `BrowserLinks`, run here over `BrowserLinks.layerMemory` (and by @openaudience/storage-sql
 * over its SQL store): a browser key names at most one visitor per tenant (the latest link), tenants never see
 * each other's links, unlinking by browser, by visitor or by both removes exactly those links, and erasure leaves
 * everyone else's. Every test uses tenants of its own.
 */
import { randomUUID } from "node:crypto"
import { assert, type Vitest } from "@effect/vitest"
import { Effect, FastCheck as fc, Option, Redacted } from "effect"
import * as BrowserLinks from "../src/BrowserLinks.js"

const tenantId = (prefix = "links"): string => `${prefix}-${randomUUID().slice(0, 8)}`
const t0 = Date.UTC(2026, 5, 1)

export const browserLinksSuite = (it: Vitest.MethodsNonLive<BrowserLinks.BrowserLinks, true>) => {
  it.effect("the latest link of a browser wins, per tenant", () =>
    Effect.gen(function* () {
      const links = yield* BrowserLinks.BrowserLinks
      const [a, b] = [tenantId(), tenantId()]
      assert.isTrue(Option.isNone(yield* links.visitorOf(a, "k1")))
      yield* links.link(a, "k1", "v1", t0)
      yield* links.link(a, "k1", "v2", t0 + 1)
      yield* links.link(b, "k1", "w1", t0)
      assert.strictEqual(Option.getOrNull(yield* links.visitorOf(a, "k1")), "v2")
      assert.strictEqual(Option.getOrNull(yield* links.visitorOf(b, "k1")), "w1")
      // A late write of an earlier link does not undo the newer one; at an equal time the later call wins.
      yield* links.link(a, "k1", "v1", t0)
      assert.strictEqual(Option.getOrNull(yield* links.visitorOf(a, "k1")), "v2")
      yield* links.link(b, "k1", "w2", t0)
      assert.strictEqual(Option.getOrNull(yield* links.visitorOf(b, "k1")), "w2")
      yield* links.link(b, "k1", "w1", t0)
      // Linking again is idempotent.
      yield* links.link(a, "k1", "v2", t0 + 2)
      assert.strictEqual(yield* links.eraseVisitor(a, "v2"), 1)
      assert.strictEqual(Option.getOrNull(yield* links.visitorOf(b, "k1")), "w1")
    })
  )

  it.effect("unlinks by browser, by visitor, or the one link between both", () =>
    Effect.gen(function* () {
      const links = yield* BrowserLinks.BrowserLinks
      const t = tenantId()
      const other = tenantId()
      for (const [key, visitor] of [
        ["k1", "v1"],
        ["k2", "v1"],
        ["k3", "v2"],
        ["k4", "v2"]
      ] as const) {
        yield* links.link(t, key, visitor, t0)
        yield* links.link(other, key, visitor, t0)
      }
      assert.strictEqual(yield* links.unlink(t, {}), 0)
      assert.strictEqual(yield* links.unlink(t, { browserKey: "k1", visitor: "v2" }), 0)
      assert.strictEqual(yield* links.unlink(t, { browserKey: "k1" }), 1)
      assert.strictEqual(yield* links.unlink(t, { browserKey: "k3", visitor: "v2" }), 1)
      assert.strictEqual(yield* links.unlink(t, { visitor: "v2" }), 1)
      assert.strictEqual(Option.getOrNull(yield* links.visitorOf(t, "k2")), "v1")
      assert.isTrue(Option.isNone(yield* links.visitorOf(t, "k4")))
      for (const key of ["k1", "k2", "k3", "k4"]) assert.isTrue(Option.isSome(yield* links.visitorOf(other, key)))
    })
  )

  it.effect("agrees with a model over random operations", () =>
    Effect.gen(function* () {
      const links = yield* BrowserLinks.BrowserLinks
      const ops = fc.sample(
        fc.array(
          fc.record({
            op: fc.constantFrom("link", "unlinkKey", "unlinkVisitor", "erase"),
            tenant: fc.integer({ min: 0, max: 1 }),
            key: fc.integer({ min: 0, max: 4 }),
            visitor: fc.integer({ min: 0, max: 2 })
          }),
          { minLength: 10, maxLength: 60 }
        ),
        { seed: 3, numRuns: 15 }
      )
      for (const run of ops) {
        const tenants = [tenantId(), tenantId()]
        const model = new Map<string, string>()
        for (const { key, op, tenant, visitor } of run) {
          const t = tenants[tenant]!
          const k = `k${key}`
          const v = `v${visitor}`
          if (op === "link") {
            yield* links.link(t, k, v, t0)
            model.set(`${t}/${k}`, v)
          } else {
            const before = model.size
            for (const [id, linked] of [...model]) {
              if (!id.startsWith(`${t}/`)) continue
              if (op === "unlinkKey" ? id === `${t}/${k}` : linked === v) model.delete(id)
            }
            const removed =
              op === "unlinkKey"
                ? yield* links.unlink(t, { browserKey: k })
                : op === "unlinkVisitor"
                  ? yield* links.unlink(t, { visitor: v })
                  : yield* links.eraseVisitor(t, v)
            assert.strictEqual(removed, before - model.size)
          }
        }
        for (const t of tenants) {
          for (let key = 0; key <= 4; key++) {
            const found = yield* links.visitorOf(t, `k${key}`)
            assert.strictEqual(Option.getOrUndefined(found), model.get(`${t}/k${key}`))
          }
        }
      }
    })
  )
}

/** Browser keys: stable per tenant and id, different across tenants and ids, never the raw id. */
export const browserKeyProperties = () => {
  const secret = Redacted.make(new Uint8Array(32).fill(1))
  fc.assert(
    fc.property(fc.string({ minLength: 1 }), fc.string({ minLength: 1 }), fc.string({ minLength: 1 }), (t1, t2, id) => {
      const k1 = BrowserLinks.browserKey(BrowserLinks.deriveKey(secret, t1), id)
      assert.strictEqual(k1, BrowserLinks.browserKey(BrowserLinks.deriveKey(secret, t1), id))
      assert.match(k1, /^[A-Za-z0-9_-]{43}$/)
      assert.notInclude(k1, id.length > 3 ? id : "\u0000")
      if (t1 !== t2) assert.notStrictEqual(k1, BrowserLinks.browserKey(BrowserLinks.deriveKey(secret, t2), id))
      assert.notStrictEqual(k1, BrowserLinks.browserKey(BrowserLinks.deriveKey(secret, t1), `${id}x`))
    }),
    { seed: 11, numRuns: 200 }
  )
}
