/**
 * The directory: collector tenants per site (with the site's settings, sharing the tenant's pseudonyms), bearer keys
 * resolved to their own tenant and role only while neither revoked nor expired, and the live directory following
 * the store within a poll interval and recording key use in batches.
 */
import { assert, describe, it } from "@effect/vitest"
import { Policy } from "@openaudience/consent"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import { ApiKey, Directory, TenancyStore } from "../src/index.js"

const secret = new Uint8Array(32).fill(7)
const origin = "https://shop.example"
const tenant = (id: string, name = id): TenancyStore.Tenant => ({ id, name, createdAt: 0 })
const site = (t: string, siteKey: string, patch: Partial<TenancyStore.Site> = {}): TenancyStore.Site => ({
  tenant: t,
  siteKey,
  origins: [origin],
  urlParams: null,
  policy: null,
  cookieless: false,
  childDirected: false,
  createdAt: 0,
  updatedAt: 0,
  ...patch
})
const key = (t: string, id: string, plaintext: string, patch: Partial<TenancyStore.StoredKey> = {}) => {
  const stored: TenancyStore.StoredKey = {
    id,
    tenant: t,
    role: "admin",
    partner: null,
    prefix: plaintext.slice(0, 10),
    digest: ApiKey.digestOf(plaintext),
    createdAt: 0,
    expiresAt: null,
    revokedAt: null,
    lastUsedAt: null,
    ...patch
  }
  return stored
}

const snapshot: TenancyStore.Snapshot = {
  revision: 7,
  tenants: [tenant("a", "Shop A"), tenant("b", "Shop B")],
  sites: [
    site("a", "a-main"),
    site("a", "a-kids", {
      childDirected: true,
      cookieless: true,
      urlParams: ["sku"],
      policy: { ...Policy.demo }
    }),
    site("b", "b-main", { policy: Policy.demo })
  ],
  keys: [
    key("a", "key_a1", "key-of-a-admin-000"),
    key("a", "key_a2", "key-of-a-partner-00", { role: "partner", partner: "acme" }),
    key("a", "key_a3", "key-of-a-revoked-00", { revokedAt: 5 }),
    key("a", "key_a4", "key-of-a-expiring-0", { expiresAt: 1_000 }),
    key("b", "key_b1", "key-of-b-admin-000")
  ]
}

describe("Directory.make", () => {
  it("makes a collector tenant per site with the site's settings and the tenant's pseudonyms", () => {
    const directory = Directory.make(secret, snapshot)
    const main = directory.bySite("a-main")!
    const kids = directory.bySite("a-kids")!
    assert.strictEqual(main.id, "a")
    assert.strictEqual(main.name, "Shop A")
    assert.deepStrictEqual(main.policy, Policy.defaultPolicy)
    assert.isFalse(main.cookieless)
    assert.deepStrictEqual([...main.siteKeys], ["a-main"])
    // A child-directed site is decided as such whatever its policy says.
    assert.deepStrictEqual(kids.policy, { ...Policy.demo, childDirected: true })
    assert.isTrue(kids.cookieless)
    assert.deepStrictEqual(kids.urlParams, ["sku"])
    assert.strictEqual(kids.scrubUrl("https://shop.example/p?sku=1&email=x"), "https://shop.example/p?sku=1")
    // One visitor is one pseudonym on every site of a tenant, another one on another tenant's site.
    assert.strictEqual(main.pseudonym("visitor-1"), kids.pseudonym("visitor-1"))
    // One pseudonym cache per tenant (the collector's is about 1 MB), not one per site.
    assert.strictEqual(main.pseudonym, kids.pseudonym)
    const url = "https://shop.example/p?utm_source=x&email=y"
    assert.strictEqual(main.scrubUrl(url), "https://shop.example/p?utm_source=x")
    assert.strictEqual(kids.scrubUrl(url), "https://shop.example/p")
    assert.notStrictEqual(main.pseudonym("visitor-1"), directory.bySite("b-main")!.pseudonym("visitor-1"))
    assert.deepStrictEqual(directory.bySite("b-main")!.policy, Policy.demo)
    assert.isUndefined(directory.bySite("nope"))
    assert.strictEqual(directory.revision, 7)
  })

  it("has one tenant per id with all its site keys, child-directed when any site is", () => {
    const directory = Directory.make(secret, snapshot)
    const a = directory.byId("a")!
    assert.sameMembers([...a.siteKeys], ["a-main", "a-kids"])
    assert.isTrue(a.policy.childDirected)
    assert.isTrue(a.cookieless)
    assert.strictEqual(a.pseudonym("v"), directory.bySite("a-main")!.pseudonym("v"))
    assert.deepStrictEqual(directory.byId("b")!.policy, Policy.demo)
    assert.sameMembers(
      directory.all().map((t) => t.id),
      ["a", "b"]
    )
    assert.isUndefined(directory.byId("c"))
  })

  it("authenticates keys to their own tenant, role and partner; refuses unknown, revoked and expired ones", () => {
    const used: Array<[string, number]> = []
    const directory = Directory.make(secret, snapshot, { onUse: (id, at) => used.push([id, at]) })
    const admin = directory.authenticate("key-of-a-admin-000", 100)
    assert.strictEqual(admin?.tenant.id, "a")
    assert.strictEqual(admin?.tenant.name, "Shop A")
    assert.strictEqual(admin?.role, "admin")
    assert.strictEqual(admin?.keyId, "key_a1")
    assert.isNull(admin?.partner)
    assert.deepStrictEqual(directory.authenticate("key-of-a-partner-00", 100)?.partner, "acme")
    assert.strictEqual(directory.authenticate("key-of-b-admin-000", 100)?.tenant.id, "b")
    assert.isUndefined(directory.authenticate("key-of-a-revoked-00", 1))
    assert.isUndefined(directory.authenticate("key-of-c-unknown-0", 100))
    assert.isUndefined(directory.authenticate("", 100))
    assert.strictEqual(directory.authenticate("key-of-a-expiring-0", 999)?.keyId, "key_a4")
    assert.isUndefined(directory.authenticate("key-of-a-expiring-0", 1_000))
    assert.isUndefined(directory.authenticate("key-of-a-expiring-0", 5_000))
    assert.deepStrictEqual(used, [
      ["key_a1", 100],
      ["key_a2", 100],
      ["key_b1", 100],
      ["key_a4", 999]
    ])
  })
})

/** Waits (real time) until `check` holds, at most 5 s: the promise every process must keep. */
const eventually = <A, E>(check: Effect.Effect<A | undefined, E>) =>
  Effect.gen(function* () {
    for (let i = 0; i < 250; i++) {
      const value = yield* check
      if (value !== undefined) return value
      yield* Effect.sleep("20 millis")
    }
    return assert.fail("not seen within 5 s")
  })

const withLive = <A, E>(
  body: (
    store: TenancyStore.TenancyStoreShape,
    directory: Directory.TenancyDirectoryShape
  ) => Effect.Effect<A, E | TenancyStore.TenancyError>,
  store: TenancyStore.TenancyStoreShape = TenancyStore.makeMemory(),
  options: Directory.Options = { pollMs: 20, flushMs: 50 }
) =>
  Effect.scoped(
    Effect.gen(function* () {
      const directory = yield* Directory.live(secret, options)
      return yield* body(store, directory)
    })
  ).pipe(Effect.provide(Layer.succeed(TenancyStore.TenancyStore, store)))

describe("Directory.live", () => {
  it.live("sees a new tenant, site and key, and a revocation, within a poll", () =>
    withLive((store, directory) =>
      Effect.gen(function* () {
        assert.isUndefined(directory.bySite("later"))
        const t = yield* store.createTenant({ name: "Later" })
        yield* store.addSite(t.id, { siteKey: "later", origins: [origin] })
        const created = yield* store.createKey(t.id, { role: "ingest" })
        const found = yield* eventually(Effect.sync(() => directory.bySite("later")))
        assert.strictEqual(found.id, t.id)
        const auth = yield* eventually(Effect.sync(() => directory.authenticate(created.key, Date.now())))
        assert.strictEqual(auth.role, "ingest")
        assert.strictEqual(directory.byId(t.id)?.name, "Later")

        const before = directory.current()
        yield* store.revokeKey(t.id, created.record.id, Date.now())
        yield* eventually(
          Effect.sync(() => (directory.authenticate(created.key, Date.now()) === undefined ? true : undefined))
        )
        // The old directory is left whole: a reader holding it still sees the key as it was.
        assert.isDefined(before.authenticate(created.key, Date.now()))
        yield* store.removeSite(t.id, "later")
        yield* eventually(Effect.sync(() => (directory.bySite("later") === undefined ? true : undefined)))
      })
    )
  )

  it.live("keeps one tenant's keys to that tenant across reloads", () =>
    withLive((store, directory) =>
      Effect.gen(function* () {
        const a = yield* store.createTenant({ name: "A" })
        const b = yield* store.createTenant({ name: "B" })
        const keys = yield* Effect.forEach([a, b, a, b, a, b], (t) =>
          Effect.map(store.createKey(t.id, { role: "admin" }), (k) => ({ tenant: t.id, key: k.key }))
        )
        yield* directory.refresh
        for (const { key, tenant } of keys)
          assert.strictEqual(directory.authenticate(key, Date.now())?.tenant.id, tenant)
      })
    )
  )

  it.live("refuses an expired key", () =>
    withLive((store, directory) =>
      Effect.gen(function* () {
        const t = yield* store.createTenant({ name: "Expiring" })
        const expiresAt = Date.now() + 60_000
        const created = yield* store.createKey(t.id, { role: "analyst", expiresAt })
        yield* directory.refresh
        assert.isDefined(directory.authenticate(created.key, expiresAt - 1))
        assert.isUndefined(directory.authenticate(created.key, expiresAt))
      })
    )
  )

  it.live("writes key use times in batches, and a failing store is logged, never fatal", () =>
    Effect.gen(function* () {
      const memory = TenancyStore.makeMemory()
      let failTouch = true
      let touches = 0
      let failReads = false
      const store: TenancyStore.TenancyStoreShape = {
        ...memory,
        touchKeys: (used) => {
          touches++
          return failTouch
            ? Effect.fail(new TenancyStore.TenancyError({ reason: "Unavailable", message: "down" }))
            : memory.touchKeys(used)
        },
        revision: () =>
          failReads
            ? Effect.fail(new TenancyStore.TenancyError({ reason: "Unavailable", message: "down" }))
            : memory.revision()
      }
      yield* withLive(
        (_, directory) =>
          Effect.gen(function* () {
            const t = yield* memory.createTenant({ name: "Used" })
            const created = yield* memory.createKey(t.id, { role: "admin" })
            yield* directory.refresh
            assert.isDefined(directory.authenticate(created.key, 1_000))
            assert.isDefined(directory.authenticate(created.key, 2_000))
            yield* eventually(Effect.sync(() => (touches >= 2 ? true : undefined)))
            assert.isNull((yield* memory.listKeys(t.id))[0]?.lastUsedAt)
            failTouch = false
            const lastUsed = yield* eventually(
              Effect.map(memory.listKeys(t.id), (keys) => keys[0]?.lastUsedAt ?? undefined)
            )
            assert.strictEqual(lastUsed, 2_000)
            // Polls fail while the store is down, and the directory goes on serving what it has.
            failReads = true
            yield* Effect.sleep("100 millis")
            assert.isDefined(directory.authenticate(created.key, 3_000))
            failReads = false
            yield* memory.addSite(t.id, { siteKey: "after-outage", origins: [origin] })
            yield* eventually(Effect.sync(() => directory.bySite("after-outage")))
          }),
        store
      )
      // The use at 3 000 is written when the scope closes.
      const t = (yield* memory.listTenants())[0]!
      assert.strictEqual((yield* memory.listKeys(t.id))[0]?.lastUsedAt, 3_000)
    }).pipe(Logger.withMinimumLogLevel(LogLevel.None))
  )
})

describe("Directory.make reusing a previous directory", () => {
  it("keeps the collector tenants whose configuration did not change, and makes new ones for the others", () => {
    const first = Directory.make(secret, snapshot)
    const next = Directory.make(
      secret,
      { ...snapshot, revision: 8, sites: [...snapshot.sites, site("b", "b-second")] },
      { previous: first }
    )
    // Tenant a is unchanged: its pseudonym cache stays warm.
    assert.strictEqual(next.byId("a"), first.byId("a"))
    assert.strictEqual(next.bySite("a-main")!.pseudonym, first.bySite("a-main")!.pseudonym)
    // Tenant b has a new site: a new collector tenant, with the same pseudonyms.
    assert.notStrictEqual(next.byId("b"), first.byId("b"))
    assert.sameMembers([...next.byId("b")!.siteKeys], ["b-main", "b-second"])
    assert.strictEqual(next.byId("b")!.pseudonym("v"), first.byId("b")!.pseudonym("v"))
  })
})
