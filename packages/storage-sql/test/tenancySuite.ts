/**
 * The behaviour every `TenancyStore` implementation must have. The same suite runs against the tenancy package's
 * in-memory store (`TenancyStore.layerMemory`), SQLite (file and memory) and PostgreSQL: ids and validation with the
 * bad field named, site keys unique across tenants, keys stored as digests and shown once, partner binding, expiry,
 * idempotent revocation, last-used times, tenant deletion with its sites and keys, one tenant's ids never reaching
 * another's rows, and a revision that grows with every change. Each test makes tenants and site keys of its own, so
 * the suite can share one store.
 */
import { randomUUID } from "node:crypto"
import { assert, type Vitest } from "@effect/vitest"
import { Policy } from "@openaudience/consent"
import { ApiKey, TenancyStore } from "@openaudience/tenancy"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"

/** A site key no other test uses. */
export const siteKey = (prefix = "s"): string => `${prefix}-${randomUUID().slice(0, 8)}`

/** The failure of `effect`, which must fail with a `TenancyError` of `reason` (and `field`, when given). */
export const failure = <A>(
  effect: Effect.Effect<A, TenancyStore.TenancyError>,
  reason: TenancyStore.TenancyError["reason"],
  field?: string
) =>
  Effect.gen(function* () {
    const result = yield* Effect.either(effect)
    if (Either.isRight(result)) return assert.fail(`expected ${reason}, got ${JSON.stringify(result.right)}`)
    assert.strictEqual(result.left._tag, "TenancyError")
    assert.strictEqual(result.left.reason, reason, result.left.message)
    if (field !== undefined) assert.strictEqual(result.left.field, field, result.left.message)
    return result.left
  })

const origin = "https://shop.example"

export const tenancySuite = (it: Vitest.MethodsNonLive<TenancyStore.TenancyStore, true>) => {
  it.effect("creates tenants with new or given ids, trims names and refuses bad ones naming the field", () =>
    Effect.gen(function* () {
      const store = yield* TenancyStore.TenancyStore
      const created = yield* store.createTenant({ name: "  Shop One  " })
      assert.match(created.id, /^ten_[0-9a-f]{16}$/)
      assert.strictEqual(created.name, "Shop One")
      assert.deepStrictEqual(yield* store.getTenant(created.id), created)
      const id = `t-${randomUUID().slice(0, 8)}`
      const given = yield* store.createTenant({ id, name: "Given" })
      assert.strictEqual(given.id, id)
      // listed by creation time, then id (both may fall in the same millisecond)
      const expected = [created, given]
        .sort((a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : 1))
        .map((t) => t.id)
      assert.deepStrictEqual(
        (yield* store.listTenants()).filter((t) => t.id === id || t.id === created.id).map((t) => t.id),
        expected
      )
      yield* failure(store.createTenant({ id, name: "Again" }), "Conflict")
      for (const name of ["", "   ", "x".repeat(201), "bad\u0000name", "line\nbreak"]) {
        yield* failure(store.createTenant({ name }), "InvalidInput", "name")
      }
      assert.strictEqual((yield* store.createTenant({ name: "x".repeat(200) })).name.length, 200)
      for (const bad of ["", "Upper", "-start", "a b", "x".repeat(65)]) {
        yield* failure(store.createTenant({ id: bad, name: "Shop" }), "InvalidInput", "id")
      }
      yield* failure(store.getTenant(`nobody-${randomUUID().slice(0, 8)}`), "NotFound")
      yield* failure(store.deleteTenant(`nobody-${randomUUID().slice(0, 8)}`), "NotFound")
    })
  )

  it.effect("adds, reads, updates and removes sites; site keys are unique across tenants", () =>
    Effect.gen(function* () {
      const store = yield* TenancyStore.TenancyStore
      const a = yield* store.createTenant({ name: "A" })
      const b = yield* store.createTenant({ name: "B" })
      const key = siteKey()
      const site = yield* store.addSite(a.id, { siteKey: key, origins: [origin, origin] })
      assert.deepStrictEqual(
        { ...site, createdAt: 0, updatedAt: 0 },
        {
          tenant: a.id,
          siteKey: key,
          origins: [origin],
          urlParams: null,
          policy: null,
          cookieless: false,
          childDirected: false,
          createdAt: 0,
          updatedAt: 0
        }
      )
      assert.deepStrictEqual(yield* store.getSite(a.id, key), site)
      yield* failure(store.addSite(a.id, { siteKey: key, origins: [origin] }), "Conflict")
      yield* failure(store.addSite(b.id, { siteKey: key, origins: [origin] }), "Conflict")
      yield* failure(store.addSite("nobody", { siteKey: siteKey(), origins: [origin] }), "NotFound")

      // Another tenant's site is not found, never forbidden, and stays as it was.
      yield* failure(store.getSite(b.id, key), "NotFound")
      yield* failure(store.updateSite(b.id, key, { cookieless: true }), "NotFound")
      yield* failure(store.removeSite(b.id, key), "NotFound")
      assert.deepStrictEqual(yield* store.listSites(b.id), [])

      const other = siteKey()
      const full = yield* store.addSite(a.id, {
        siteKey: other,
        origins: ["http://127.0.0.1:8080", "https://www.shop.example"],
        urlParams: ["utm_source", "sku"],
        policy: { ...Policy.demo, childDirected: true },
        cookieless: true,
        childDirected: true
      })
      assert.deepStrictEqual(yield* store.getSite(a.id, other), full)
      assert.deepStrictEqual((yield* store.getSite(a.id, other)).policy, { ...Policy.demo, childDirected: true })
      assert.sameMembers(
        (yield* store.listSites(a.id)).map((s) => s.siteKey),
        [key, other]
      )

      const updated = yield* store.updateSite(a.id, other, { urlParams: null, policy: null, cookieless: false })
      assert.strictEqual(updated.urlParams, null)
      assert.strictEqual(updated.policy, null)
      assert.isFalse(updated.cookieless)
      assert.isTrue(updated.childDirected)
      assert.deepStrictEqual(updated.origins, full.origins)
      assert.deepStrictEqual(yield* store.getSite(a.id, other), updated)
      const moved = yield* store.updateSite(a.id, other, { origins: ["https://new.example"] })
      assert.deepStrictEqual(moved.origins, ["https://new.example"])

      yield* store.removeSite(a.id, other)
      yield* failure(store.getSite(a.id, other), "NotFound")
      yield* failure(store.removeSite(a.id, other), "NotFound")
      // A removed site key can be added again, by any tenant.
      assert.strictEqual((yield* store.addSite(b.id, { siteKey: other, origins: [origin] })).tenant, b.id)
    })
  )

  it.effect("refuses malformed sites naming the field, and changes nothing", () =>
    Effect.gen(function* () {
      const store = yield* TenancyStore.TenancyStore
      const t = yield* store.createTenant({ name: "Shop" })
      const before = yield* store.revision()
      const cases: ReadonlyArray<readonly [TenancyStore.SiteInput, string]> = [
        [{ siteKey: "Bad Key", origins: [origin] }, "siteKey"],
        [{ siteKey: "", origins: [origin] }, "siteKey"],
        [{ siteKey: "x".repeat(65), origins: [origin] }, "siteKey"],
        [{ siteKey: siteKey(), origins: [] }, "origins"],
        [{ siteKey: siteKey(), origins: ["https://shop.example/path"] }, "origins"],
        [{ siteKey: siteKey(), origins: ["ftp://shop.example"] }, "origins"],
        [{ siteKey: siteKey(), origins: ["shop.example"] }, "origins"],
        [{ siteKey: siteKey(), origins: [origin], urlParams: ["a=b"] }, "urlParams"],
        [{ siteKey: siteKey(), origins: [origin], urlParams: [""] }, "urlParams"],
        [{ siteKey: siteKey(), origins: [origin], policy: { ...Policy.defaultPolicy, version: "soon" } }, "policy"]
      ]
      for (const [input, field] of cases) yield* failure(store.addSite(t.id, input), "InvalidInput", field)
      const key = siteKey()
      yield* store.addSite(t.id, { siteKey: key, origins: [origin] })
      yield* failure(store.updateSite(t.id, key, { origins: [] }), "InvalidInput", "origins")
      yield* failure(store.updateSite(t.id, key, { origins: ["nope"] }), "InvalidInput", "origins")
      assert.deepStrictEqual((yield* store.getSite(t.id, key)).origins, [origin])
      assert.strictEqual(yield* store.revision(), before + 1)
    })
  )

  it.effect("creates keys shown once and stored as digests; partner keys are bound to one partner", () =>
    Effect.gen(function* () {
      const store = yield* TenancyStore.TenancyStore
      const t = yield* store.createTenant({ name: "Shop" })
      const now = yield* Clock.currentTimeMillis
      const created = yield* store.createKey(t.id, { role: "admin" })
      assert.match(created.key, /^oa_[A-Za-z0-9_-]{43}$/)
      assert.match(created.record.id, /^key_[0-9a-f]{16}$/)
      assert.strictEqual(created.record.prefix, created.key.slice(0, 10))
      assert.deepStrictEqual(
        { ...created.record, createdAt: 0 },
        {
          id: created.record.id,
          tenant: t.id,
          role: "admin",
          partner: null,
          prefix: created.record.prefix,
          createdAt: 0,
          expiresAt: null,
          revokedAt: null,
          lastUsedAt: null
        }
      )
      assert.notProperty(created.record, "digest")
      const listed = yield* store.listKeys(t.id)
      assert.deepStrictEqual(listed, [created.record])
      assert.notInclude(JSON.stringify(listed), created.key)
      const stored = (yield* store.snapshot()).keys.find((k) => k.id === created.record.id)
      assert.strictEqual(stored?.digest, ApiKey.digestOf(created.key))

      const partner = yield* store.createKey(t.id, { role: "partner", partner: "acme.ads", expiresAt: now + 3_600_000 })
      assert.strictEqual(partner.record.partner, "acme.ads")
      assert.strictEqual(partner.record.expiresAt, now + 3_600_000)
      yield* failure(store.createKey(t.id, { role: "partner" }), "InvalidInput", "partner")
      yield* failure(store.createKey(t.id, { role: "partner", partner: "bad name" }), "InvalidInput", "partner")
      yield* failure(store.createKey(t.id, { role: "analyst", partner: "acme" }), "InvalidInput", "partner")
      yield* failure(store.createKey(t.id, { role: "root" as "owner" }), "InvalidInput", "role")
      yield* failure(store.createKey(t.id, { role: "ingest", expiresAt: now - 1 }), "InvalidInput", "expiresAt")
      yield* failure(store.createKey("nobody", { role: "admin" }), "NotFound")
      assert.strictEqual((yield* store.listKeys(t.id)).length, 2)
    })
  )

  it.effect("imports an existing key under a new id, once", () =>
    Effect.gen(function* () {
      const store = yield* TenancyStore.TenancyStore
      const a = yield* store.createTenant({ name: "A" })
      const b = yield* store.createTenant({ name: "B" })
      const key = `imported-${randomUUID()}`
      const one = yield* store.createKey(a.id, { role: "admin", key })
      assert.strictEqual(one.key, key)
      assert.strictEqual(one.record.prefix, key.slice(0, 10))
      assert.match(one.record.id, /^key_[0-9a-f]{16}$/)
      const stored = (yield* store.snapshot()).keys.find((k) => k.id === one.record.id)
      assert.strictEqual(stored?.digest, ApiKey.digestOf(key))
      yield* failure(store.createKey(a.id, { role: "ingest", key }), "Conflict")
      yield* failure(store.createKey(b.id, { role: "ingest", key }), "Conflict")
      yield* failure(store.createKey(a.id, { role: "ingest", key: "short" }), "InvalidInput", "key")
      assert.deepStrictEqual(yield* store.listKeys(b.id), [])
    })
  )

  it.effect("revokes keys once, records their use, and keeps one tenant's keys from another", () =>
    Effect.gen(function* () {
      const store = yield* TenancyStore.TenancyStore
      const a = yield* store.createTenant({ name: "A" })
      const b = yield* store.createTenant({ name: "B" })
      const key = yield* store.createKey(a.id, { role: "ingest" })
      yield* failure(store.revokeKey(b.id, key.record.id, 1_000), "NotFound")
      yield* failure(store.revokeKey(a.id, "key_0000000000000000", 1_000), "NotFound")
      const before = yield* store.revision()
      assert.strictEqual((yield* store.revokeKey(a.id, key.record.id, 1_000)).revokedAt, 1_000)
      assert.strictEqual(yield* store.revision(), before + 1)
      // Revoking again keeps the first time and changes nothing.
      assert.strictEqual((yield* store.revokeKey(a.id, key.record.id, 2_000)).revokedAt, 1_000)
      assert.strictEqual(yield* store.revision(), before + 1)
      assert.strictEqual((yield* store.listKeys(a.id))[0]?.revokedAt, 1_000)

      const used = yield* store.createKey(a.id, { role: "analyst" })
      yield* store.touchKeys([
        { id: used.record.id, at: 5_000 },
        { id: "key_unknown", at: 5_000 }
      ])
      // An older use reported late does not move the time back.
      yield* store.touchKeys([{ id: used.record.id, at: 4_000 }])
      yield* store.touchKeys([])
      const listed = (yield* store.listKeys(a.id)).find((k) => k.id === used.record.id)
      assert.strictEqual(listed?.lastUsedAt, 5_000)
      assert.strictEqual(yield* store.revision(), before + 2)
    })
  )

  it.effect("deletes a tenant with its sites and keys, leaving other tenants alone", () =>
    Effect.gen(function* () {
      const store = yield* TenancyStore.TenancyStore
      const a = yield* store.createTenant({ name: "A" })
      const b = yield* store.createTenant({ name: "B" })
      const aSite = siteKey()
      const bSite = siteKey()
      yield* store.addSite(a.id, { siteKey: aSite, origins: [origin] })
      yield* store.addSite(b.id, { siteKey: bSite, origins: [origin] })
      const aKey = yield* store.createKey(a.id, { role: "admin" })
      const bKey = yield* store.createKey(b.id, { role: "admin" })
      yield* store.deleteTenant(a.id)
      yield* failure(store.getTenant(a.id), "NotFound")
      yield* failure(store.listSites(a.id), "NotFound")
      yield* failure(store.listKeys(a.id), "NotFound")
      const snapshot = yield* store.snapshot()
      assert.isFalse(snapshot.tenants.some((t) => t.id === a.id))
      assert.isFalse(snapshot.sites.some((s) => s.siteKey === aSite))
      assert.isFalse(snapshot.keys.some((k) => k.id === aKey.record.id))
      assert.isTrue(snapshot.sites.some((s) => s.siteKey === bSite))
      assert.isTrue(snapshot.keys.some((k) => k.id === bKey.record.id))
      // Its site key is free again.
      yield* store.addSite(b.id, { siteKey: aSite, origins: [origin] })
    })
  )

  it.effect("bumps the revision with every change, and the snapshot carries it", () =>
    Effect.gen(function* () {
      const store = yield* TenancyStore.TenancyStore
      const seen: Array<number> = [yield* store.revision()]
      const step = <A>(change: Effect.Effect<A, TenancyStore.TenancyError>) =>
        Effect.gen(function* () {
          const result = yield* change
          seen.push(yield* store.revision())
          return result
        })
      const t = yield* step(store.createTenant({ name: "Revisions" }))
      const key = siteKey()
      yield* step(store.addSite(t.id, { siteKey: key, origins: [origin] }))
      yield* step(store.updateSite(t.id, key, { cookieless: true }))
      const k = yield* step(store.createKey(t.id, { role: "admin" }))
      yield* step(store.revokeKey(t.id, k.record.id, 1))
      yield* step(store.removeSite(t.id, key))
      yield* step(store.deleteTenant(t.id))
      for (let i = 1; i < seen.length; i++) assert.isAbove(seen[i]!, seen[i - 1]!, `change ${i}`)
      // Reads and failed changes leave it alone.
      const last = seen[seen.length - 1]!
      yield* store.listTenants()
      yield* store.snapshot()
      yield* Effect.either(store.createTenant({ name: "" }))
      yield* Effect.either(store.addSite(t.id, { siteKey: siteKey(), origins: [origin] }))
      assert.strictEqual(yield* store.revision(), last)
      assert.strictEqual((yield* store.snapshot()).revision, last)
    })
  )

  it.effect("never applies half a change when concurrent changes race for one site key", () =>
    Effect.gen(function* () {
      const store = yield* TenancyStore.TenancyStore
      const t = yield* store.createTenant({ name: "Race" })
      const key = siteKey()
      const before = yield* store.revision()
      const results = yield* Effect.all(
        Array.from({ length: 5 }, () => Effect.either(store.addSite(t.id, { siteKey: key, origins: [origin] }))),
        { concurrency: "unbounded" }
      )
      assert.strictEqual(results.filter(Either.isRight).length, 1)
      for (const result of results) {
        if (Either.isLeft(result)) assert.include(["Conflict", "Unavailable"], result.left.reason)
      }
      assert.strictEqual((yield* store.listSites(t.id)).length, 1)
      assert.strictEqual(yield* store.revision(), before + 1)
    })
  )
}
