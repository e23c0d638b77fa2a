/**
 * The behaviour of `SqlSubjectStores` on a database with every storage-sql migration applied, run on SQLite and
 * PostgreSQL: the live schema is covered (and a new table with a subject column is caught), an erasure of one person
 * (their visitor, browser and user) leaves nothing of them in any store and every other person and tenant as they
 * were, an export answers that person's records only, and a user's erasure shreds their data key.
 */
import { randomUUID } from "node:crypto"
import * as SqlClient from "@effect/sql/SqlClient"
import { assert, type Vitest } from "@effect/vitest"
import { Registry, Subject } from "@openaudience/dsar"
import { StoredEvents } from "@openaudience/eventlog"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Either from "effect/Either"
import * as fc from "effect/FastCheck"
import * as Option from "effect/Option"
import {
  EventStore,
  SqlAdLog,
  SqlBrowserLinks,
  SqlCapStore,
  SqlEventLog,
  SqlKeyStore,
  SqlSubjectStores,
  SqlSyncStore
} from "../src/index.js"

/** Every migration of the package, as a server that runs all its stores applies them. */
export const migrateAll = SqlSubjectStores.migrateAll

const t0 = Date.UTC(2026, 5, 1)

/** One person of one tenant: their visitor pseudonym, browser key and user id. */
interface Person {
  readonly tenant: string
  readonly visitor: string
  readonly browser: string
  readonly user: string
  /** A text found in their records only (product ids, order ids, audience ids). */
  readonly marker: string
}

const subjectsOf = (person: Person): ReadonlyArray<Subject.Subject> => [
  new Subject.Visitor({ tenant: person.tenant, visitor: person.visitor }),
  new Subject.Browser({ tenant: person.tenant, browser: person.browser }),
  new Subject.User({ tenant: person.tenant, user: person.user })
]

/** Rows about `person` in every store, through the stores' own modules where they have an insert, else SQL. */
const seed = (person: Person) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const { tenant, visitor, browser, user, marker } = person
    const events = yield* EventStore.make
    const event = (id: string, type: string, payload: unknown, at: number) => ({
      tenant,
      eventId: `${marker}-${id}`,
      type,
      site: "shop.example",
      receivedAt: at,
      clientTs: null,
      visitor,
      payload,
      consent: null
    })
    yield* events.append([
      event("e1", "page_view", { url: `https://shop.example/${marker}`, context: { browser: "Firefox" } }, t0),
      event("e2", "product_view", { productId: `p-${marker}`, category: "shoes" }, t0 + 1),
      event("e3", "objection", {}, t0 + 2)
    ])
    yield* SqlEventLog.appendInTransaction([
      { tenant, key: visitor, payload: { membership: "Entered", visitor, audienceId: `a-${marker}` } },
      { tenant, key: StoredEvents.key, payload: { stored: [[1, 1]], events: 1 } }
    ])
    yield* sql`INSERT INTO audience_visitors ${sql.insert({
      tenant,
      visitor,
      state: new Uint8Array([1, 2, 3]),
      next_check_at: t0
    })}`
    yield* sql`INSERT INTO audience_memberships ${sql.insert({
      tenant,
      audience_id: `a-${marker}`,
      visitor,
      entered_at: t0,
      expires_at: t0 + 1000,
      exited_at: null,
      products: JSON.stringify([`p-${marker}`])
    })}`
    const adLog = yield* SqlAdLog.make
    const decision = `d-${marker}`
    yield* adLog.recordDecision({
      id: decision,
      tenant,
      campaignId: "c1",
      creativeId: "cr1",
      productIds: [`p-${marker}`],
      publisher: "news.example",
      slot: "top",
      visitor,
      personalized: true,
      propensity: 0.5,
      costMillis: 10,
      currency: "EUR",
      at: t0
    })
    yield* adLog.recordImpression(decision, "rendered", t0 + 1)
    yield* adLog.recordClick(decision, t0 + 2)
    yield* adLog.recordConversion({
      tenant,
      orderId: `o-${marker}`,
      decisionId: decision,
      campaignId: "c1",
      visitor,
      value: 12.5,
      currency: "EUR",
      at: t0 + 3
    })
    const caps = yield* SqlCapStore.make
    yield* caps.record(tenant, visitor, ["advertiser", `campaign:${marker}`], t0)
    const links = yield* SqlBrowserLinks.make
    yield* links.link(tenant, browser, visitor, t0)
    const emailIndex = `ix-${marker}`
    yield* sql`INSERT INTO users ${sql.insert({
      tenant,
      id: user,
      email_index: emailIndex,
      email: "v1.ciphertext",
      first_name: "v1.ciphertext",
      role: "analyst",
      status: "active",
      created_at: t0,
      updated_at: t0
    })}`
    yield* sql`INSERT INTO user_sessions ${sql.insert({
      digest: `s-${marker}`,
      tenant,
      user_id: user,
      created_at: t0,
      last_seen_at: t0,
      expires_at: t0 + 1000
    })}`
    for (const table of ["user_invitations", "user_resets"]) {
      yield* sql`INSERT INTO ${sql(table)} ${sql.insert({
        digest: `${table}-${marker}`,
        tenant,
        user_id: user,
        created_at: t0,
        expires_at: t0 + 1000
      })}`
    }
    yield* sql`INSERT INTO user_login_failures ${sql.insert([
      { key: `email:${emailIndex}`, at: t0 },
      { key: `reset:${emailIndex}`, at: t0 + 1 }
    ])}`
    yield* sql`INSERT INTO payment_methods ${sql.insert({
      id: `pm-${marker}`,
      tenant,
      user_id: user,
      processor: "stripe",
      token: `tok-${marker}`,
      brand: "visa",
      last4: "4242",
      created_at: t0
    })}`
    const keys = yield* SqlKeyStore.make
    yield* keys.put(tenant, user, {
      version: 1,
      iv: new Uint8Array(12),
      tag: new Uint8Array(16),
      ciphertext: new Uint8Array(32)
    })
  })

/** How many rows each store holds about each of the person's subjects. */
const countsOf = (stores: ReadonlyArray<Registry.SubjectStore>, person: Person) =>
  Effect.forEach(stores, (store) =>
    Effect.map(
      Effect.forEach(subjectsOf(person), (subject) => store.count(subject)),
      (counts) => `${store.name}: ${counts.join("/")}`
    )
  )

const eraseAll = (stores: ReadonlyArray<Registry.SubjectStore>, subjects: ReadonlyArray<Subject.Subject>) =>
  Effect.map(
    Effect.forEach(stores, (store) => Effect.forEach(subjects, (subject) => store.erase(subject))),
    (erased) => erased.flat().reduce((sum, n) => sum + n, 0)
  )

/**
 * Four people: each id as a person of both tenants of this run (the same pseudonym under two tenants: an erasure in
 * one tenant must not reach the other).
 */
const people = (ids: readonly [string, string]): ReadonlyArray<Person> => {
  const run = randomUUID().slice(0, 8)
  return [0, 1, 2, 3].map((i) => {
    const id = ids[i >> 1]!
    return { tenant: `t${i % 2}-${run}`, visitor: `v${id}`, browser: `b${id}`, user: `u${id}`, marker: `m${i}${run}` }
  })
}

/** Visitor pseudonyms and other ids: base64url text, as the stores keep them. */
const idArb = fc.stringMatching(/^[A-Za-z0-9_-]{4,22}$/)
const idsArb = fc.uniqueArray(idArb, { minLength: 2, maxLength: 2 }) as fc.Arbitrary<[string, string]>

/**
 * The suite, on a layer with an `SqlClient` whose database has every storage-sql migration applied (`migrateAll`).
 */
export const subjectStoresSuite = (it: Vitest.MethodsNonLive<SqlClient.SqlClient, true>) => {
  it.effect("the live schema of a migrated database is covered by the stores", () =>
    Effect.gen(function* () {
      yield* SqlSubjectStores.check()
      const stores = yield* SqlSubjectStores.stores
      const live = yield* SqlSubjectStores.liveColumns
      const liveTables = new Set(live.map((column) => column.table))
      // Every covered table exists, and every column a store names as a subject column is a column of it.
      for (const store of stores) {
        for (const table of store.tables) {
          assert.isTrue(liveTables.has(table.table), `${store.name}: no table ${table.table}`)
          for (const column of table.subjectColumns) {
            assert.isTrue(
              live.some((c) => c.table === table.table && c.column === column),
              `${store.name}: no column ${table.table}.${column}`
            )
          }
        }
      }
      // Without the migration tables ignored, they are the only ones missing (they hold no subject column).
      assert.isTrue(Either.isRight(Registry.checkSchema(stores, live)))
    })
  )

  it.effect("a new table with a subject column fails the check, naming it", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const table = `oa_extra_${randomUUID().replaceAll("-", "").slice(0, 8)}`
      const failure = yield* Effect.gen(function* () {
        yield* sql`CREATE TABLE ${sql(table)} (tenant TEXT NOT NULL, visitor TEXT NOT NULL, n INTEGER)`
        return yield* Effect.flip(SqlSubjectStores.check())
      }).pipe(Effect.ensuring(Effect.orDie(sql`DROP TABLE IF EXISTS ${sql(table)}`)))
      assert.strictEqual(failure._tag, "UnregisteredTable")
      if (failure._tag !== "UnregisteredTable") return
      assert.deepStrictEqual(failure.tables, [{ table, columns: ["visitor"] }])
      assert.include(failure.message, table)
      // Listed in `ignore`, it passes.
      yield* Effect.gen(function* () {
        yield* sql`CREATE TABLE ${sql(table)} (tenant TEXT NOT NULL, visitor TEXT NOT NULL, n INTEGER)`
        yield* SqlSubjectStores.check({ ignore: [table] })
      }).pipe(Effect.ensuring(Effect.orDie(sql`DROP TABLE IF EXISTS ${sql(table)}`)))
    })
  )

  it.effect.prop(
    "erasing one person leaves no row of theirs in any store, and every other person and tenant untouched",
    [idsArb, fc.integer({ min: 0, max: 3 })],
    ([ids, chosen]) =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        const stores = yield* SqlSubjectStores.stores
        const everyone = people(ids)
        yield* Effect.forEach(everyone, seed, { discard: true })
        const before = yield* Effect.forEach(everyone, (person) => countsOf(stores, person))
        const target = everyone[chosen]!
        // Seeded: every store but the retained ones holds rows about the person.
        for (const store of stores) {
          const total = yield* Effect.map(
            Effect.forEach(subjectsOf(target), (subject) => store.count(subject)),
            (counts) => counts.reduce((sum, n) => sum + n, 0)
          )
          assert.strictEqual(total > 0, store.retained.length === 0, `${store.name} holds ${total} rows`)
        }
        const logBefore = yield* sql<{ n: number | string }>`SELECT COUNT(*) AS n FROM event_log
          WHERE tenant = ${target.tenant} AND partition_key = ${StoredEvents.key}`
        const erased = yield* eraseAll(stores, subjectsOf(target))
        assert.isAbove(erased, 0)
        for (const store of stores) {
          for (const subject of subjectsOf(target)) {
            assert.strictEqual(yield* store.count(subject), 0, `${store.name} still holds ${subject._tag}`)
          }
        }
        // Idempotent: a second erasure finds nothing.
        assert.strictEqual(yield* eraseAll(stores, subjectsOf(target)), 0)
        const after = yield* Effect.forEach(everyone, (person) => countsOf(stores, person))
        for (let i = 0; i < everyone.length; i++) {
          if (i !== chosen) assert.deepStrictEqual(after[i], before[i], `person ${i} changed`)
        }
        // The event log's records of stored events carry no visitor: they stay.
        const logAfter = yield* sql<{ n: number | string }>`SELECT COUNT(*) AS n FROM event_log
          WHERE tenant = ${target.tenant} AND partition_key = ${StoredEvents.key}`
        assert.strictEqual(Number(logAfter[0]!.n), Number(logBefore[0]!.n))
      }),
    { fastCheck: { numRuns: 6 } }
  )

  it.effect("an export answers one person's records only, as many as the stores count, oldest first", () =>
    Effect.gen(function* () {
      const stores = yield* SqlSubjectStores.stores
      const everyone = people(["AAAAAAAAAAAAAAAAAAAAAA", "BBBBBBBBBBBBBBBBBBBBBB"])
      yield* Effect.forEach(everyone, seed, { discard: true })
      const [me, ...others] = everyone
      const exported: Array<Registry.ExportedRecord> = []
      for (const store of stores) {
        for (const subject of subjectsOf(me!)) {
          const records = yield* store.export(subject, { limit: 1000 })
          assert.strictEqual(records.length, yield* store.count(subject), `${store.name} ${subject._tag}`)
          for (const record of records) assert.strictEqual(record.store, store.name)
          const times = records.flatMap((record) => (record.at === undefined ? [] : [record.at]))
          assert.deepStrictEqual(
            times,
            [...times].sort((a, b) => a - b),
            `${store.name} oldest first`
          )
          exported.push(...records)
        }
      }
      const text = JSON.stringify(exported)
      for (const other of others) {
        assert.notInclude(text, other.marker)
        if (other.visitor !== me!.visitor) {
          for (const id of [other.visitor, other.browser, other.user]) assert.notInclude(text, id)
        }
      }
      // No identifier of another subject (the linked browser key) and no secret (tokens, wrapped keys, digests).
      for (const secret of [me!.browser, `tok-${me!.marker}`, `s-${me!.marker}`]) assert.notInclude(text, secret)
      const kinds = new Set(exported.map((record) => record.kind))
      for (const kind of [
        "page_view",
        "product_view",
        "objection",
        "log-record",
        "membership",
        "audience-state",
        "click",
        "conversion",
        "frequency-cap",
        "browser-link",
        "account",
        "login-failure",
        "session",
        "invitation",
        "password-reset",
        "payment-method",
        "data-key"
      ]) {
        assert.isTrue(kinds.has(kind), `no ${kind} exported`)
      }
      const events = exported.filter((record) => record.store === "events")
      assert.deepStrictEqual(
        events.map((record) => record.fields.productId ?? record.fields.url),
        [`https://shop.example/${me!.marker}`, `p-${me!.marker}`, undefined]
      )
      const first = yield* stores[0]!.export(subjectsOf(me!)[0]!, { limit: 1 })
      assert.strictEqual(first.length, 1)
      assert.strictEqual(first[0]!.kind, "page_view")
      assert.deepStrictEqual(yield* stores[0]!.export(subjectsOf(me!)[0]!, { limit: 0 }), [])
    })
  )

  it.effect("a user's erasure removes the account data and shreds their data key; retained stores say why", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const stores = yield* SqlSubjectStores.stores
      const everyone = people(["uuuuuuuu", "wwwwwwww"])
      const [me, other] = everyone
      yield* Effect.forEach(everyone, seed, { discard: true })
      const user = new Subject.User({ tenant: me!.tenant, user: me!.user })
      const transaction = yield* SqlSubjectStores.transaction
      yield* transaction(eraseAll(stores, [user]))
      const keys = yield* SqlKeyStore.make
      assert.isTrue(Option.isNone(yield* keys.get(me!.tenant, me!.user)))
      assert.isTrue(Option.isSome(yield* keys.get(other!.tenant, other!.user)))
      const left = yield* sql<{ n: number | string }>`SELECT
          (SELECT COUNT(*) FROM users WHERE tenant = ${me!.tenant} AND id = ${me!.user})
        + (SELECT COUNT(*) FROM user_sessions WHERE tenant = ${me!.tenant} AND user_id = ${me!.user})
        + (SELECT COUNT(*) FROM user_invitations WHERE tenant = ${me!.tenant} AND user_id = ${me!.user})
        + (SELECT COUNT(*) FROM user_resets WHERE tenant = ${me!.tenant} AND user_id = ${me!.user})
        + (SELECT COUNT(*) FROM payment_methods WHERE tenant = ${me!.tenant} AND user_id = ${me!.user})
        + (SELECT COUNT(*) FROM user_login_failures WHERE key LIKE ${`%ix-${me!.marker}`})
        + (SELECT COUNT(*) FROM vault_data_keys WHERE tenant = ${me!.tenant} AND subject = ${me!.user}) AS n`
      assert.strictEqual(Number(left[0]!.n), 0)
      // The visitor of the same person is another subject: untouched by a user erasure.
      const events = stores.find((store) => store.name === "events")!
      assert.strictEqual(yield* events.count(new Subject.Visitor({ tenant: me!.tenant, visitor: me!.visitor })), 3)
      const retained = stores.flatMap((store) => store.retained)
      assert.deepStrictEqual([...new Set(retained.map((entry) => entry.store))].sort(), [
        "audit-log",
        "dsar-records",
        "inquiries"
      ])
      for (const entry of retained) assert.isAbove(entry.why.length, 40)
    })
  )

  it.effect("an erasure in the transaction is undone as a whole when it fails", () =>
    Effect.gen(function* () {
      const stores = yield* SqlSubjectStores.stores
      const [me] = people(["rollback", "unused"])
      yield* seed(me!)
      const before = yield* countsOf(stores, me!)
      const transaction = yield* SqlSubjectStores.transaction
      const failure = yield* Effect.flip(
        transaction(
          Effect.zipRight(
            eraseAll(stores, subjectsOf(me!)),
            Effect.fail(new Registry.StoreUnavailable({ store: "later", message: "gone" }))
          )
        )
      )
      assert.strictEqual(failure.store, "later")
      assert.deepStrictEqual(yield* countsOf(stores, me!), before)
    })
  )

  it.effect("an audience job's transaction running beside an erasure never leaves rows of the erased visitor", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const stores = yield* SqlSubjectStores.stores
      const [me] = people(["racing", "unused"])
      const { tenant, visitor, marker } = me!
      yield* seed(me!)
      const jobs = yield* SqlSyncStore.make
      const transaction = yield* SqlSubjectStores.transaction
      const read = yield* Deferred.make<void>()
      const proceed = yield* Deferred.make<void>()
      // The job reads the visitor's events, then (while the erasure starts) writes a membership they lead to.
      const job = yield* Effect.fork(
        jobs.transaction(
          Effect.gen(function* () {
            const rows = yield* sql<{ readonly n: number | string }>`
              SELECT COUNT(*) AS n FROM events WHERE tenant = ${tenant} AND visitor = ${visitor}`
            yield* Deferred.succeed(read, undefined)
            yield* Deferred.await(proceed)
            if (Number(rows[0]!.n) === 0) return
            yield* sql`INSERT INTO audience_memberships ${sql.insert({
              tenant,
              audience_id: `later-${marker}`,
              visitor,
              entered_at: t0 + 5,
              expires_at: t0 + 1000,
              exited_at: null,
              products: "[]"
            })}`
          })
        )
      )
      yield* Deferred.await(read)
      const erasure = yield* Effect.fork(transaction(eraseAll(stores, subjectsOf(me!))))
      yield* Effect.sleep("150 millis")
      yield* Deferred.succeed(proceed, undefined)
      yield* Fiber.join(job)
      yield* Fiber.join(erasure)
      const erasable = stores.filter((store) => store.retained.length === 0)
      const left = (yield* countsOf(erasable, me!)).filter((line) => !/: 0\/0\/0$/.test(line))
      assert.deepStrictEqual(left, [])
    })
  )
}
