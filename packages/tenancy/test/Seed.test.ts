/**
 * Seeding the demo tenant through the store: what it creates, that running it again (or concurrently) duplicates
 * nothing, and that the demo admin key then authenticates as the demo tenant's admin.
 */
import { assert, describe, it } from "@effect/vitest"
import { Policy } from "@openaudience/consent"
import * as Effect from "effect/Effect"
import { Directory, Seed, TenancyStore } from "../src/index.js"

const adminKey = "demo-admin-key"

describe("Seed.demo", () => {
  it.effect("creates the demo tenant, site and admin key once, however often it runs", () =>
    Effect.gen(function* () {
      const store = yield* TenancyStore.TenancyStore
      assert.deepStrictEqual(yield* Seed.demo(adminKey), { tenant: true, site: true, key: true, publisher: true })
      const revision = yield* store.revision()
      assert.deepStrictEqual(yield* Seed.demo(adminKey), { tenant: false, site: false, key: false, publisher: false })
      yield* Effect.all([Seed.demo(adminKey), Seed.demo(adminKey)], { concurrency: "unbounded" })
      assert.strictEqual(yield* store.revision(), revision)

      const snapshot = yield* store.snapshot()
      assert.deepStrictEqual(snapshot.tenants.map((t) => [t.id, t.name]).sort(), [
        ["demo", "Demo shop"],
        ["demo-news", "Demo news"]
      ])
      assert.strictEqual(snapshot.sites.length, 2)
      const news = snapshot.sites.find((s) => s.siteKey === "demo-news")!
      assert.strictEqual(news.tenant, "demo-news")
      assert.deepStrictEqual(news.origins, ["http://localhost:8080"], "the publisher is another site: localhost")
      const site = snapshot.sites.find((s) => s.siteKey === "demo")!
      assert.strictEqual(site.siteKey, "demo")
      assert.deepStrictEqual(site.origins, ["http://127.0.0.1:8080"])
      assert.deepStrictEqual(site.policy, Policy.demo)
      assert.isFalse(site.cookieless)
      assert.strictEqual(snapshot.keys.length, 1)
      assert.strictEqual(snapshot.keys[0]!.role, "admin")

      const directory = Directory.make(new Uint8Array(32), snapshot)
      const auth = directory.authenticate(adminKey, 0)
      assert.strictEqual(auth?.tenant.id, "demo")
      assert.strictEqual(auth?.role, "admin")
      assert.deepStrictEqual(directory.bySite("demo")?.policy, Policy.demo)
    }).pipe(Effect.provide(TenancyStore.layerMemory))
  )

  it.effect("takes the public URL's origin and the cookieless mode, also for an existing site", () =>
    Effect.gen(function* () {
      const store = yield* TenancyStore.TenancyStore
      yield* Seed.demo(adminKey, { publicUrl: "https://demo.example/path?x=1", cookieless: true })
      const site = yield* store.getSite("demo", "demo")
      assert.deepStrictEqual(site.origins, ["https://demo.example"])
      assert.isTrue(site.cookieless)
      yield* Seed.demo(adminKey, { publicUrl: "http://localhost:3000", cookieless: false })
      const updated = yield* store.getSite("demo", "demo")
      assert.deepStrictEqual(updated.origins, ["https://demo.example", "http://localhost:3000"])
      assert.isFalse(updated.cookieless)
    }).pipe(Effect.provide(TenancyStore.layerMemory))
  )

  it.effect("never brings a revoked demo key back, and adds a new admin key when the configured one changes", () =>
    Effect.gen(function* () {
      const store = yield* TenancyStore.TenancyStore
      yield* Seed.demo(adminKey)
      const [first] = yield* store.listKeys("demo")
      yield* store.revokeKey("demo", first!.id, 1)
      assert.isFalse((yield* Seed.demo(adminKey)).key)
      assert.strictEqual((yield* store.listKeys("demo")).length, 1)
      assert.isTrue((yield* Seed.demo("another-demo-admin-key")).key)
      assert.strictEqual((yield* store.listKeys("demo")).length, 2)
    }).pipe(Effect.provide(TenancyStore.layerMemory))
  )
})

describe("Seed.demo with retired keys", () => {
  it.effect("revokes a key seeded before once another key is configured, and keeps the configured one", () =>
    Effect.gen(function* () {
      yield* Seed.demo("public-default-key", { retire: ["public-default-key"] })
      const before = Directory.make(new Uint8Array(32), yield* (yield* TenancyStore.TenancyStore).snapshot())
      assert.strictEqual(before.authenticate("public-default-key", 1)?.role, "admin", "still the configured key")
      yield* Seed.demo("an-operators-own-key", { retire: ["public-default-key"] })
      const after = Directory.make(new Uint8Array(32), yield* (yield* TenancyStore.TenancyStore).snapshot())
      assert.isUndefined(after.authenticate("public-default-key", 1), "the old default no longer works")
      assert.strictEqual(after.authenticate("an-operators-own-key", 1)?.role, "admin")
    }).pipe(Effect.provide(TenancyStore.layerMemory))
  )
})
