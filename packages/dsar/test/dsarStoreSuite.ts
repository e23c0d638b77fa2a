/**
 * The behaviour every `DsarStore` has, run here over `DsarStore.layerMemory` and meant to run over the SQL store of
 * @openaudience/storage-sql on SQLite and PostgreSQL: requests round-trip whole (subjects, history, extension,
 * reminders), optimistic updates, tenant isolation (another tenant's row is `NotFound`, never listed), the queues a
 * worker drains across tenants, holds, reports, recipients, deliveries with their retries, objections, and
 * tenants' deadline policies.
 *
 * Every test uses tenants of its own. The two cross-tenant queues (`requests.due`, `deliveries.due`) see every
 * test's rows, so tests read them filtered to their own tenant; the tests of their `limit` use times in 1970, before
 * any other row of the suite (which lives in 2026).
 */
import { randomUUID } from "node:crypto"
import { assert, type Vitest } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Deadline from "../src/Deadline.js"
import * as DsarStore from "../src/DsarStore.js"
import * as Hold from "../src/Hold.js"
import * as Request from "../src/Request.js"
import * as Subject from "../src/Subject.js"

/** A fresh tenant id. */
export const tenantId = (prefix = "t"): string => `${prefix}-${randomUUID().slice(0, 8)}`

/** A fresh id with a prefix. */
export const freshId = (prefix: string): string => `${prefix}_${randomUUID().replaceAll("-", "")}`

/** The time the suite's requests are received at (epoch ms). */
export const now = Date.UTC(2026, 0, 31, 10)

const day = Deadline.day

/** A received request of `tenant` about a visitor and a user. */
export const request = (tenant: string, fields: Partial<Request.MakeInput> = {}): Request.Request =>
  Either.getOrThrow(
    Request.make({
      id: freshId("dsr"),
      tenant,
      type: "erasure",
      subjects: [new Subject.Visitor({ tenant, visitor: "v_1" }), new Subject.User({ tenant, user: "u_1" })],
      receivedAt: now,
      policy: Deadline.defaultPolicy,
      ...fields
    })
  )

/** The failure of `effect`, which must be a `DsarStoreError` of `reason`. */
export const failure = <A, R>(
  effect: Effect.Effect<A, DsarStore.DsarStoreError, R>,
  reason: DsarStore.DsarStoreError["reason"]
) =>
  Effect.gen(function* () {
    const result = yield* Effect.either(effect)
    if (Either.isRight(result)) return assert.fail(`expected ${reason}, got a success`)
    assert.strictEqual(result.left._tag, "DsarStoreError")
    assert.strictEqual(result.left.reason, reason, result.left.message)
    return result.left
  })

const step = (r: Request.Request, action: Request.Action, at: number) =>
  Either.getOrThrow(Request.transition(r, action, at, "user:op"))

const hold = (tenant: string, fields: Partial<ConstructorParameters<typeof Hold.Hold>[0]> = {}) =>
  new Hold.Hold({
    id: freshId("hold"),
    tenant,
    reason: "litigation",
    reference: "Court order 12/2026",
    createdAt: now,
    createdBy: "user:legal",
    ...fields
  })

const recipient = (tenant: string, fields: Partial<ConstructorParameters<typeof DsarStore.Recipient>[0]> = {}) =>
  new DsarStore.Recipient({
    id: freshId("rcp"),
    tenant,
    name: "Mailer GmbH",
    kind: "sub-processor",
    url: "https://mailer.example/webhooks/erasure",
    secret: "v1.ciphertext",
    createdAt: now,
    ...fields
  })

const delivery = (tenant: string, fields: Partial<ConstructorParameters<typeof DsarStore.Delivery>[0]> = {}) =>
  new DsarStore.Delivery({
    id: freshId("dlv"),
    tenant,
    recipientId: "rcp_1",
    event: "subject.erased",
    body: JSON.stringify({ subject: "v_1" }),
    firstAttemptAt: now,
    nextAttemptAt: now,
    attempts: 0,
    status: "pending",
    ...fields
  })

export const dsarStoreSuite = (it: Vitest.MethodsNonLive<DsarStore.DsarStore, true>) => {
  it.effect("stores a request and reads it back whole, through its lifecycle, with optimistic updates", () =>
    Effect.gen(function* () {
      const store = yield* DsarStore.DsarStore
      const tenant = tenantId()
      const received = request(tenant)
      const inserted = yield* store.requests.insert(received)
      assert.deepStrictEqual(inserted, received)
      assert.deepStrictEqual(yield* store.requests.get(tenant, received.id), received)

      const extended = step(
        step(step(received, { _tag: "Acknowledge" }, now + 1), { _tag: "Start" }, now + 2),
        { _tag: "Extend", reason: "many stores", policy: Deadline.defaultPolicy },
        now + 3
      )
      const reminded = Request.markReminded(extended, [{ daysBefore: 7, at: extended.dueAt - 7 * day }])
      const v1 = yield* store.requests.update(reminded)
      assert.strictEqual(v1.version, 1)
      const read = yield* store.requests.get(tenant, received.id)
      assert.deepStrictEqual(read, v1)
      assert.deepStrictEqual(
        [read.status, read.acknowledgedAt, read.extendedAt, read.extensionReason, read.remindersSent],
        ["in-progress", now + 1, now + 3, "many stores", [extended.dueAt - 7 * day]]
      )
      assert.deepStrictEqual(
        read.history.map((t) => [t.from, t.to, t.action, t.actor, t.note]),
        [
          [null, "received", "receive", "system", undefined],
          ["received", "received", "acknowledge", "user:op", undefined],
          ["received", "in-progress", "start", "user:op", undefined],
          ["in-progress", "in-progress", "extend", "user:op", "many stores"]
        ]
      )
      assert.deepStrictEqual(read.subjects, received.subjects)

      // A second writer holding the old version loses; the first writer's change stays.
      yield* failure(
        store.requests.update(step(received, { _tag: "Refuse", reason: "late writer" }, now + 4)),
        "Conflict"
      )
      const v2 = yield* store.requests.update(step(read, { _tag: "Complete" }, now + 5))
      assert.deepStrictEqual([v2.version, v2.status, v2.completedAt], [2, "completed", now + 5])
      yield* failure(store.requests.update(read), "Conflict")
      yield* failure(store.requests.insert(received), "Conflict")
    })
  )

  it.effect("lists a tenant's requests oldest first, by status; another tenant's request is NotFound", () =>
    Effect.gen(function* () {
      const store = yield* DsarStore.DsarStore
      const [a, b] = [tenantId("a"), tenantId("b")]
      const second = yield* store.requests.insert(request(a, { receivedAt: now + 2 * day }))
      const first = yield* store.requests.insert(request(a, { type: "access" }))
      const refused = yield* store.requests.update(step(first, { _tag: "Refuse", reason: "duplicate" }, now + day))
      const theirs = yield* store.requests.insert(request(b))

      assert.deepStrictEqual(
        (yield* store.requests.list(a)).map((r) => r.id),
        [first.id, second.id]
      )
      assert.deepStrictEqual(
        (yield* store.requests.list(a, { status: "refused" })).map((r) => [r.id, r.refusedReason]),
        [[refused.id, "duplicate"]]
      )
      assert.deepStrictEqual(yield* store.requests.list(a, { status: "completed" }), [])
      yield* failure(store.requests.get(a, theirs.id), "NotFound")
      yield* failure(store.requests.update(Request.Request.make({ ...theirs, tenant: a })), "NotFound")
      assert.deepStrictEqual(
        (yield* store.requests.list(b)).map((r) => r.id),
        [theirs.id]
      )
    })
  )

  it.effect("due: open requests of every tenant whose deadline is within reach, earliest first", () =>
    Effect.gen(function* () {
      const store = yield* DsarStore.DsarStore
      const [a, b] = [tenantId("a"), tenantId("b")]
      const soon = yield* store.requests.insert(request(a))
      const later = yield* store.requests.insert(request(b, { receivedAt: now + 10 * day }))
      const closed = yield* store.requests.insert(request(a))
      yield* store.requests.update(step(closed, { _tag: "Refuse", reason: "duplicate" }, now))
      const mine = (list: ReadonlyArray<Request.Request>) =>
        list.filter((r) => r.tenant === a || r.tenant === b).map((r) => r.id)

      // Before soon's 7-day window nothing; inside it soon; past later's deadline both, earliest deadline first.
      assert.deepStrictEqual(mine(yield* store.requests.due(soon.dueAt - 8 * day, { limit: 10_000 })), [])
      assert.deepStrictEqual(mine(yield* store.requests.due(soon.dueAt - 7 * day, { limit: 10_000 })), [soon.id])
      assert.deepStrictEqual(mine(yield* store.requests.due(soon.dueAt - day, { within: 0, limit: 10_000 })), [])
      assert.deepStrictEqual(mine(yield* store.requests.due(later.dueAt + day, { limit: 10_000 })), [soon.id, later.id])
    })
  )

  it.effect("due: at most limit requests, earliest deadline first", () =>
    Effect.gen(function* () {
      const store = yield* DsarStore.DsarStore
      const tenant = tenantId()
      const [x, y, z] = [3, 1, 2].map((n) => request(tenant, { receivedAt: n * 1000 }))
      for (const r of [x!, y!, z!]) yield* store.requests.insert(r)
      assert.deepStrictEqual(
        (yield* store.requests.due(0, { within: 40 * day, limit: 2 })).map((r) => r.id),
        [y!.id, z!.id]
      )
      for (const r of [x!, y!, z!]) yield* store.requests.update(step(r, { _tag: "Refuse", reason: "test" }, 4000))
      assert.deepStrictEqual(yield* store.requests.due(0, { within: 40 * day }), [])
    })
  )

  it.effect("holds: added, listed by whether active, released once; a tenant's holds only", () =>
    Effect.gen(function* () {
      const store = yield* DsarStore.DsarStore
      const [a, b] = [tenantId("a"), tenantId("b")]
      const onSubject = yield* store.holds.add(hold(a, { subject: new Subject.Visitor({ tenant: a, visitor: "v_1" }) }))
      const whole = yield* store.holds.add(hold(a, { createdAt: now + 1 }))
      const theirs = yield* store.holds.add(hold(b))
      yield* failure(store.holds.add(onSubject), "Conflict")

      assert.deepStrictEqual(yield* store.holds.list(a), [onSubject, whole])
      assert.deepStrictEqual(yield* store.holds.activeFor(a), [onSubject, whole])
      const released = yield* store.holds.release(a, whole.id, now + day, "user:legal")
      assert.deepStrictEqual([released.releasedAt, released.releasedBy], [now + day, "user:legal"])
      yield* failure(store.holds.release(a, whole.id, now + 2 * day, "user:legal"), "Conflict")
      yield* failure(store.holds.release(a, theirs.id, now, "user:legal"), "NotFound")

      assert.deepStrictEqual(yield* store.holds.activeFor(a), [onSubject])
      assert.deepStrictEqual(yield* store.holds.list(a, { active: true }), [onSubject])
      assert.deepStrictEqual(yield* store.holds.list(a, { active: false }), [released])
      assert.deepStrictEqual(yield* store.holds.list(a), [onSubject, released])
      assert.deepStrictEqual(yield* store.holds.activeFor(b), [theirs])
      // What the store returns is what a Complete action checks.
      const visitor = new Subject.Visitor({ tenant: a, visitor: "v_1" })
      assert.deepStrictEqual(Hold.blocking(yield* store.holds.activeFor(a), visitor, now + 2 * day), [onSubject])
    })
  )

  it.effect("reports: a signed report per request of a tenant, replaced by a later one, NotFound elsewhere", () =>
    Effect.gen(function* () {
      const store = yield* DsarStore.DsarStore
      const [a, b] = [tenantId("a"), tenantId("b")]
      const requestId = freshId("dsr")
      yield* failure(store.reports.get(a, requestId), "NotFound")
      const report = JSON.stringify({ request: requestId, stores: [{ name: "events", erased: 3 }], signature: "c2ln" })
      yield* store.reports.put(requestId, a, report)
      assert.strictEqual(yield* store.reports.get(a, requestId), report)
      yield* failure(store.reports.get(b, requestId), "NotFound")
      const again = JSON.stringify({ request: requestId, stores: [], signature: "bmV3" })
      yield* store.reports.put(requestId, a, again)
      assert.strictEqual(yield* store.reports.get(a, requestId), again)
      yield* failure(store.reports.put(requestId, b, report), "Conflict")
      assert.strictEqual(yield* store.reports.get(a, requestId), again)
    })
  )

  it.effect("recipients: put (add or replace), listed oldest first per tenant, removed", () =>
    Effect.gen(function* () {
      const store = yield* DsarStore.DsarStore
      const [a, b] = [tenantId("a"), tenantId("b")]
      const mailer = yield* store.recipients.put(recipient(a))
      const partner = yield* store.recipients.put(
        recipient(a, { name: "News Ltd", kind: "partner", createdAt: now + 1, url: "https://news.example/hook" })
      )
      const theirs = yield* store.recipients.put(recipient(b))
      assert.deepStrictEqual(yield* store.recipients.list(a), [mailer, partner])

      const rotated = yield* store.recipients.put(new DsarStore.Recipient({ ...mailer, secret: "v2.rotated" }))
      assert.deepStrictEqual(yield* store.recipients.list(a), [rotated, partner])
      yield* failure(store.recipients.put(new DsarStore.Recipient({ ...theirs, tenant: a })), "Conflict")
      assert.isFalse(yield* store.recipients.remove(a, theirs.id))
      assert.deepStrictEqual(yield* store.recipients.list(b), [theirs])
      assert.isTrue(yield* store.recipients.remove(a, mailer.id))
      assert.isFalse(yield* store.recipients.remove(a, mailer.id))
      assert.deepStrictEqual(yield* store.recipients.list(a), [partner])
    })
  )

  it.effect("deliveries: due when their time comes, retried, delivered or given up", () =>
    Effect.gen(function* () {
      const store = yield* DsarStore.DsarStore
      const [a, b] = [tenantId("a"), tenantId("b")]
      const first = yield* store.deliveries.enqueue(delivery(a))
      const second = yield* store.deliveries.enqueue(delivery(b, { firstAttemptAt: now + 1, nextAttemptAt: now + 1 }))
      yield* failure(store.deliveries.enqueue(first), "Conflict")
      const mine = (list: ReadonlyArray<DsarStore.Delivery>) =>
        list.filter((d) => d.tenant === a || d.tenant === b).map((d) => d.id)
      assert.deepStrictEqual(mine(yield* store.deliveries.due(now - 1, 10_000)), [])
      assert.deepStrictEqual(mine(yield* store.deliveries.due(now + 1, 10_000)), [first.id, second.id])

      const failed = yield* store.deliveries.recordAttempt(first.id, {
        _tag: "Failed",
        at: now + 2,
        error: "HTTP 503",
        retryAt: now + 60_000
      })
      assert.deepStrictEqual(
        [failed.status, failed.attempts, failed.lastError, failed.nextAttemptAt],
        ["pending", 1, "HTTP 503", now + 60_000]
      )
      assert.deepStrictEqual(mine(yield* store.deliveries.due(now + 2, 10_000)), [second.id])
      assert.deepStrictEqual(mine(yield* store.deliveries.due(now + 60_000, 10_000)), [second.id, first.id])

      const delivered = yield* store.deliveries.recordAttempt(first.id, { _tag: "Delivered", at: now + 60_001 })
      assert.deepStrictEqual([delivered.status, delivered.attempts], ["delivered", 2])
      yield* failure(store.deliveries.recordAttempt(first.id, { _tag: "Delivered", at: now + 60_002 }), "Conflict")
      const dead = yield* store.deliveries.recordAttempt(second.id, { _tag: "Failed", at: now + 3, error: "HTTP 410" })
      assert.deepStrictEqual([dead.status, dead.attempts, dead.lastError], ["dead", 1, "HTTP 410"])
      yield* failure(store.deliveries.recordAttempt(freshId("dlv"), { _tag: "Delivered", at: now }), "NotFound")
      assert.deepStrictEqual(mine(yield* store.deliveries.due(now + 10 * day, 10_000)), [])

      assert.deepStrictEqual(yield* store.deliveries.list(a), [delivered])
      assert.deepStrictEqual(yield* store.deliveries.list(a, { status: "pending" }), [])
      assert.deepStrictEqual(yield* store.deliveries.list(a, { status: "delivered" }), [delivered])
      assert.deepStrictEqual(yield* store.deliveries.list(b, { status: "dead" }), [dead])
    })
  )

  it.effect("deliveries: at most limit due, earliest first", () =>
    Effect.gen(function* () {
      const store = yield* DsarStore.DsarStore
      const tenant = tenantId()
      const [x, y, z] = [3, 1, 2].map((n) => delivery(tenant, { firstAttemptAt: n, nextAttemptAt: n }))
      for (const d of [x!, y!, z!]) yield* store.deliveries.enqueue(d)
      assert.deepStrictEqual(
        (yield* store.deliveries.due(3, 2)).map((d) => d.id),
        [y!.id, z!.id]
      )
      for (const d of [x!, y!, z!]) yield* store.deliveries.recordAttempt(d.id, { _tag: "Delivered", at: 4 })
      assert.deepStrictEqual(yield* store.deliveries.due(3, 10), [])
    })
  )

  it.effect("objections: a visitor's objection is kept per tenant, and recording it twice is harmless", () =>
    Effect.gen(function* () {
      const store = yield* DsarStore.DsarStore
      const [a, b] = [tenantId("a"), tenantId("b")]
      assert.isFalse(yield* store.objections.has(a, "v_1"))
      yield* store.objections.add(a, "v_1", now)
      yield* store.objections.add(a, "v_1", now + day)
      assert.isTrue(yield* store.objections.has(a, "v_1"))
      assert.isFalse(yield* store.objections.has(a, "v_2"))
      assert.isFalse(yield* store.objections.has(b, "v_1"))
    })
  )

  it.effect("policies: a tenant's policy reads back whole, per tenant, replaced by a later one", () =>
    Effect.gen(function* () {
      const store = yield* DsarStore.DsarStore
      const [a, b] = [tenantId("a"), tenantId("b")]
      assert.isTrue(Option.isNone(yield* store.policies.get(a)))
      const custom = new Deadline.Policy({
        regime: "custom",
        custom: new Deadline.Custom({ days: 20, extensionDays: 10 }),
        reminderDaysBefore: [5, 2, 0]
      })
      yield* store.policies.put(a, custom, now)
      assert.deepStrictEqual(yield* store.policies.get(a), Option.some(custom))
      assert.isTrue(Option.isNone(yield* store.policies.get(b)), "another tenant has no policy")

      const ccpa = new Deadline.Policy({ regime: "ccpa" })
      yield* store.policies.put(b, ccpa, now)
      assert.deepStrictEqual(yield* store.policies.get(b), Option.some(ccpa))
      assert.deepStrictEqual(yield* store.policies.get(a), Option.some(custom), "setting b leaves a alone")

      const gdpr = new Deadline.Policy({ regime: "gdpr", reminderDaysBefore: [] })
      yield* store.policies.put(a, gdpr, now + day)
      assert.deepStrictEqual(yield* store.policies.get(a), Option.some(gdpr))
    })
  )
}
