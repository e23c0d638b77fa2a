/**
 * The audience job (`SqlAudienceJob.job`, audience's `Sync`) over real stores under the TestClock: in memory, on
 * SQLite and on PostgreSQL, the same suite. Events go in the way the collector stores them (event store + log
 * records naming them), the job runs round by round, and memberships, statistics and sync status are read back.
 */
import { assert, type Vitest } from "@effect/vitest"
import { Audience, type AudienceRule, MembershipStore, Rule, Sync } from "@openaudience/audience"
import type { ConsentReceipt } from "@openaudience/event-schema"
import { Consumer, EventLog } from "@openaudience/eventlog"
import * as Effect from "effect/Effect"
import * as fc from "effect/FastCheck"
import * as Option from "effect/Option"
import * as TestClock from "effect/TestClock"
import { randomUUID } from "node:crypto"
import { AudienceStore, type EventStore, SqlAudienceJob, type StoredEvent } from "../src/index.js"

/** What the suite reads and writes besides the job's ports. */
export type Services = EventStore.EventStore | EventLog.EventLog | AudienceStore.AudienceStore | Sync.Ports

/** Stores events the way the collector does (the event store and the log records naming them). */
export type Collect<R> = (...events: ReadonlyArray<StoredEvent>) => Effect.Effect<unknown, unknown, R>

const DAY = 86_400_000
const HOUR = 3_600_000
/** 2026-03-02T10:00:00Z. */
const T0 = Date.UTC(2026, 2, 2, 10)
const { days, hours } = Rule

const receipt = (personalization = true, child = false): ConsentReceipt.ConsentReceipt => ({
  v: 1,
  policy: "2026-11-29.1",
  model: "opt-out",
  jurisdiction: "US-CA",
  signals: { gpc: false, dnt: false, optout: false, coppa: child, tcf: false, gpp: false, usp: false },
  decision: { collect: true, identifier: true, personalization, measurement: true, child, reasons: [] }
})

let counter = 0
const stored = (
  tenant: string,
  visitor: string | null,
  type: string,
  at: number,
  payload: Record<string, unknown>,
  consent: ConsentReceipt.ConsentReceipt | null = receipt()
): StoredEvent => ({
  tenant,
  eventId: `e-${++counter}-${randomUUID().slice(0, 8)}`,
  type,
  site: "shop.example",
  receivedAt: at,
  clientTs: null,
  visitor,
  payload,
  consent
})

const view = (
  tenant: string,
  visitor: string,
  at: number,
  productId: string,
  category = "shoes",
  consent?: ConsentReceipt.ConsentReceipt
) =>
  stored(
    tenant,
    visitor,
    "product_view",
    at,
    { productId, category, unitPrice: 8_900, currency: "EUR" },
    consent ?? receipt()
  )
const cart = (tenant: string, visitor: string, at: number, productId: string) =>
  stored(tenant, visitor, "add_to_cart", at, {
    productId,
    category: "shoes",
    quantity: 1,
    unitPrice: 8_900,
    currency: "EUR"
  })
const purchase = (tenant: string, visitor: string, at: number, productId: string) =>
  stored(tenant, visitor, "conversion", at, {
    orderId: `o-${at}`,
    conversionType: "purchase",
    currency: "EUR",
    value: 8_900,
    items: [{ productId, quantity: 1, unitPrice: 8_900 }]
  })
const page = (tenant: string, visitor: string, at: number, path: string) =>
  stored(tenant, visitor, "page_view", at, { url: `https://shop.example${path}` })

/** Runs `step` until it has nothing left to do. */
const settleWith = <E, R>(step: Effect.Effect<number, E, R>) =>
  Effect.gen(function* () {
    for (let i = 0; i < 100; i++) if ((yield* step) === 0) return
    assert.fail("the audience job did not settle")
  })

const define = (tenant: string, id: string, rule: AudienceRule.AudienceRule, status: "active" | "draft" = "active") =>
  Effect.gen(function* () {
    const store = yield* AudienceStore.AudienceStore
    const now = yield* TestClock.currentTimeMillis
    return yield* store.create(tenant, id, { name: id, status, rule }, now)
  })

const active = (tenant: string, visitor: string) =>
  Effect.gen(function* () {
    const store = yield* MembershipStore.MembershipStore
    const now = yield* TestClock.currentTimeMillis
    return (yield* store.memberships(tenant, visitor, now))
      .map((m) => `${m.audienceId}[${m.products.join(",")}]`)
      .sort()
  })

const members = (tenant: string, audienceId: string) =>
  Effect.gen(function* () {
    const store = yield* MembershipStore.MembershipStore
    return yield* store.count(tenant, audienceId, yield* TestClock.currentTimeMillis)
  })

const unique = () => `t-${randomUUID().slice(0, 8)}`

/**
 * The suite, each round of the job run by `step`: the job's own round (`Consumer.stepOf`, the default), or a round
 * shared with other jobs (`Consumer.step`).
 */
export const audienceJobSuite =
  <X = never>(
    collect: Collect<Services | X>,
    step: Effect.Effect<number, unknown, Services | X> = Consumer.stepOf(SqlAudienceJob.job)
  ) =>
  (it: Vitest.MethodsNonLive<Services | X, false>) =>
    suiteBody(it, collect, settleWith(step))

const suiteBody = <R>(
  it: Vitest.MethodsNonLive<Services | R, false>,
  collect: Collect<Services | R>,
  settle: Effect.Effect<void, unknown, Services | R>
) => {
  it.effect("windows: members enter as events arrive and leave when the window slides past (sweep)", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(T0)
      const t = unique()
      yield* define(t, "shoes", Audience.make([Rule.viewed({ category: "shoes" }).atLeast(2).within(days(14))]))
      yield* settle
      yield* collect(view(t, "v1", T0, "p1"), view(t, "v2", T0, "p2"), view(t, "v2", T0 + HOUR, "p3", "hats"))
      yield* settle
      assert.deepStrictEqual(yield* active(t, "v1"), [])
      yield* TestClock.adjust(DAY)
      yield* collect(view(t, "v1", T0 + DAY, "p4"))
      yield* settle
      assert.deepStrictEqual(
        yield* active(t, "v1"),
        ["shoes[]"],
        "qualifying products are kept for bound audiences only"
      )
      assert.deepStrictEqual(yield* active(t, "v2"), [], "one shoe view and a hat are not two shoe views")
      assert.strictEqual(yield* members(t, "shoes"), 1)
      // Still a member 13 days after the first view; out once it is more than 14 days old (midnight UTC).
      yield* TestClock.setTime(T0 + 13 * DAY)
      yield* settle
      assert.strictEqual(yield* members(t, "shoes"), 1)
      yield* TestClock.setTime(Date.UTC(2026, 2, 17))
      yield* settle
      assert.strictEqual(yield* members(t, "shoes"), 0, "the window slid past the first view")
      // Every change was emitted to the event log, keyed by visitor, without a seq (event consumers pass over it).
      const log = yield* EventLog.EventLog
      const emitted = (yield* log.read(`test/${t}`, 10_000)).filter(
        (r) => r.tenant === t && typeof (r.payload as { membership?: unknown }).membership === "string"
      )
      assert.deepStrictEqual(
        emitted.map((r) => [r.key, (r.payload as { membership: string }).membership]),
        [
          ["v1", "Entered"],
          ["v1", "Exited"]
        ]
      )
      assert.deepStrictEqual(emitted[1]!.payload, {
        membership: "Exited",
        visitor: "v1",
        audienceId: "shoes",
        at: Date.UTC(2026, 2, 17),
        reason: "rule"
      })
      const stats = yield* Sync.daily(t, "shoes", "2026-03-01")
      assert.deepStrictEqual(stats, [
        { day: "2026-03-17", entered: 0, exited: 1 },
        { day: "2026-03-03", entered: 1, exited: 0 }
      ])
    })
  )

  it.effect("expiry: a membership ends when it expires, even with no new event", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(T0)
      const t = unique()
      yield* define(t, "carts", Audience.make([Rule.addedToCart().within(days(30))], { expiry: days(2) }))
      yield* settle
      yield* collect(cart(t, "v1", T0, "p1"))
      yield* settle
      assert.deepStrictEqual(yield* active(t, "v1"), ["carts[]"])
      yield* TestClock.setTime(T0 + DAY)
      yield* settle
      assert.deepStrictEqual(yield* active(t, "v1"), ["carts[]"])
      yield* TestClock.setTime(T0 + 3 * DAY)
      yield* settle
      assert.deepStrictEqual(yield* active(t, "v1"), [], "expired after 2 days")
      const history = yield* Effect.flatMap(MembershipStore.MembershipStore, (s) => s.history(t, "v1"))
      assert.strictEqual(history.length, 1)
    })
  )

  it.effect("negation and binding: the product viewed and not bought qualifies; buying it ends the membership", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(T0)
      const t = unique()
      yield* define(
        t,
        "viewed-not-bought",
        Audience.make([Rule.viewed().within(days(14)), Rule.not(Rule.purchased().within(days(30)))], {
          bind: "productId"
        })
      )
      yield* settle
      yield* collect(view(t, "v1", T0, "p1"), view(t, "v1", T0 + 1, "p2"), purchase(t, "v1", T0 + 2, "p1"))
      yield* settle
      assert.deepStrictEqual(yield* active(t, "v1"), ["viewed-not-bought[p2]"])
      yield* TestClock.adjust(HOUR)
      yield* collect(purchase(t, "v1", T0 + HOUR, "p2"))
      yield* settle
      assert.deepStrictEqual(yield* active(t, "v1"), [], "bought everything viewed")
    })
  )

  it.effect("sequences: A then B within the span counts, too slow does not; events without consent never count", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(T0)
      const t = unique()
      yield* define(
        t,
        "pricing-then-cart",
        Audience.make([Rule.sequence(Rule.visited("/pricing*"), Rule.addedToCart()).within(hours(1))])
      )
      yield* settle
      yield* collect(
        page(t, "fast", T0, "/pricing"),
        cart(t, "fast", T0 + 30 * 60_000, "p1"),
        page(t, "slow", T0, "/pricing"),
        cart(t, "slow", T0 + 2 * HOUR, "p1"),
        page(t, "wrong-order", T0, "/home"),
        cart(t, "wrong-order", T0 + 60_000, "p1"),
        page(t, "wrong-order", T0 + 120_000, "/pricing"),
        view(t, "refused", T0, "p1", "shoes", receipt(false))
      )
      yield* TestClock.setTime(T0 + 3 * HOUR)
      yield* settle
      assert.deepStrictEqual(yield* active(t, "fast"), ["pricing-then-cart[]"])
      assert.deepStrictEqual(yield* active(t, "slow"), [])
      assert.deepStrictEqual(yield* active(t, "wrong-order"), [])
      const states = yield* Effect.flatMap(MembershipStore.MembershipStore, (s) => s.visitors(t, undefined, 10))
      assert.notInclude(states, "refused", "no state is built from an event that may not personalize")
    })
  )

  it.effect("edits: creating backfills from stored events, editing re-evaluates, deleting drops memberships", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(T0)
      const t = unique()
      const audiences = yield* AudienceStore.AudienceStore
      // History first, no audience yet: the job keeps no state for it.
      yield* collect(
        view(t, "a", T0 - 3 * DAY, "p1"),
        view(t, "a", T0 - 2 * DAY, "p1"),
        view(t, "a", T0 - DAY, "p2"),
        view(t, "b", T0 - DAY, "p1"),
        view(t, "b", T0 - 20 * DAY, "p9"),
        view(t, "c", T0 - DAY, "p1", "shoes", receipt(false)),
        view(t, "c", T0 - DAY, "p1", "shoes", receipt(false))
      )
      yield* settle
      assert.deepStrictEqual(
        yield* Effect.flatMap(MembershipStore.MembershipStore, (s) => s.visitors(t, undefined, 10)),
        []
      )

      const twice = Audience.make([Rule.viewed().atLeast(2).within(days(14))])
      yield* define(t, "twice", twice)
      assert.isTrue(Option.isNone(yield* Sync.status(t)))
      yield* settle
      assert.deepStrictEqual(yield* active(t, "a"), ["twice[]"], "backfilled from history")
      assert.deepStrictEqual(yield* active(t, "b"), [], "the older view is outside the window")
      assert.deepStrictEqual(yield* active(t, "c"), [], "no consent, no membership")
      const status = Option.getOrThrow(yield* Sync.status(t))
      assert.strictEqual(status.sync, "ready")
      assert.strictEqual(status.revision, 1)
      assert.strictEqual(status.processed, status.total)
      assert.strictEqual(status.total, 7)

      // New events after the backfill are applied once, from the log (not again by the backfill).
      yield* collect(view(t, "b", T0, "p3"))
      yield* settle
      assert.strictEqual((yield* active(t, "b")).length, 1)
      assert.strictEqual(yield* members(t, "twice"), 2)

      // Edit: three views needed, and the window widened to 30 days (needs more history: rebuilt).
      yield* audiences.update(
        t,
        "twice",
        { name: "thrice", status: "active", rule: Audience.make([Rule.viewed().atLeast(3).within(days(30))]) },
        T0
      )
      yield* settle
      assert.strictEqual((yield* active(t, "a")).length, 1, "a has three views")
      assert.strictEqual((yield* active(t, "b")).length, 1, "b's view of 20 days ago counts now")
      yield* audiences.update(
        t,
        "twice",
        { name: "four", status: "active", rule: Audience.make([Rule.viewed().atLeast(4).within(days(30))]) },
        T0
      )
      yield* settle
      assert.strictEqual(yield* members(t, "twice"), 0)
      const history = yield* Effect.flatMap(MembershipStore.MembershipStore, (s) => s.history(t, "a"))
      assert.isTrue(
        history.every((m) => m.exitedAt !== null),
        "the edit closed a's membership"
      )

      // A draft is not evaluated; deleting drops memberships.
      yield* define(t, "draft", Audience.make([Rule.viewed().within(days(30))]), "draft")
      yield* define(t, "any", Audience.make([Rule.viewed().within(days(30))]))
      yield* settle
      assert.deepStrictEqual(
        (yield* active(t, "a")).map((m) => m.split("[")[0]),
        ["any"]
      )
      assert.strictEqual(yield* members(t, "any"), 2)
      assert.isTrue(yield* audiences.remove(t, "any"))
      yield* settle
      assert.strictEqual(yield* members(t, "any"), 0)
      assert.deepStrictEqual(
        yield* Effect.flatMap(MembershipStore.MembershipStore, (s) => s.history(t, "a")).pipe(
          Effect.map((h) => h.filter((m) => m.audienceId === "any"))
        ),
        []
      )
      assert.strictEqual(Option.getOrThrow(yield* Sync.status(t)).revision, 6)
    })
  )

  it.effect("a backfill that fails half-way resumes where it stopped and counts every visitor once", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(T0)
      const t = unique()
      const visitors = Array.from({ length: 250 }, (_, i) => `v${String(i).padStart(3, "0")}`)
      yield* collect(...visitors.flatMap((v) => [view(t, v, T0 - DAY, "p1"), view(t, v, T0 - HOUR, "p2")]))
      yield* settle
      yield* define(t, "twice", Audience.make([Rule.viewed().atLeast(2).within(days(14))]))
      const store = yield* MembershipStore.MembershipStore
      let commits = 0
      const failing = MembershipStore.MembershipStore.of({
        ...store,
        commit: (tenant, visitor, commit) =>
          ++commits > 220
            ? Effect.fail(new MembershipStore.MembershipStoreError({ message: "disk full" }))
            : store.commit(tenant, visitor, commit)
      })
      const failed = yield* Effect.flip(
        Sync.applyEdits(t).pipe(Effect.provideService(MembershipStore.MembershipStore, failing))
      )
      assert.strictEqual(failed._tag, "MembershipStoreError")
      const stopped = Option.getOrThrow(yield* Sync.status(t))
      assert.strictEqual(stopped.sync, "backfilling")
      assert.strictEqual(stopped.revision, 0, "the edit is not applied yet")
      assert.isBelow(stopped.processed, stopped.total)
      assert.isAbove(yield* members(t, "twice"), 0, "the first page was committed")
      yield* settle
      assert.strictEqual(yield* members(t, "twice"), 250)
      for (const v of [visitors[0]!, visitors[199]!, visitors[200]!, visitors[249]!]) {
        assert.strictEqual((yield* store.history(t, v)).length, 1, `${v} entered once`)
      }
      const done = Option.getOrThrow(yield* Sync.status(t))
      assert.deepStrictEqual([done.sync, done.revision, done.processed], ["ready", 1, 500])
      assert.deepStrictEqual(yield* Sync.daily(t, "twice", "2026-03-01"), [
        { day: "2026-03-02", entered: 250, exited: 0 }
      ])
    })
  )

  it.effect.prop(
    "events that may not personalize (refused, child, missing or malformed receipts) never change a membership",
    [
      fc.array(
        fc.record({
          visitor: fc.constantFrom("a", "b", "c"),
          kind: fc.constantFrom("view", "cart", "buy"),
          product: fc.constantFrom("p1", "p2"),
          hour: fc.integer({ min: 0, max: 20 * 24 }),
          consent: fc.constantFrom("allowed", "refused", "child", "none", "malformed", "string")
        }),
        { maxLength: 30 }
      )
    ],
    ([history]) =>
      Effect.gen(function* () {
        yield* TestClock.setTime(T0 + 21 * DAY)
        const everything = unique()
        const allowedOnly = unique()
        const rules = {
          viewedNotBought: Audience.make(
            [Rule.viewed().within(days(14)), Rule.not(Rule.purchased().within(days(30)))],
            {
              bind: "productId"
            }
          ),
          keen: Audience.make([Rule.viewed().atLeast(2).within(days(7))], { expiry: days(3) }),
          carted: Audience.make([Rule.sequence(Rule.viewed(), Rule.addedToCart()).within(hours(6))])
        }
        for (const t of [everything, allowedOnly]) {
          for (const [id, rule] of Object.entries(rules)) yield* define(t, id, rule)
        }
        yield* settle
        // Malformed receipts come from untyped writers: they are stored, and read back as no receipt at all.
        const consents: Record<string, ConsentReceipt.ConsentReceipt | null> = {
          allowed: receipt(),
          refused: receipt(false),
          child: receipt(true, true),
          none: null,
          malformed: { decision: { personalization: "yes" } } as never,
          string: "personalization=true" as never
        }
        const make = (t: string, e: (typeof history)[number]) => {
          const at = T0 + e.hour * HOUR
          const base =
            e.kind === "view"
              ? view(t, e.visitor, at, e.product)
              : e.kind === "cart"
                ? cart(t, e.visitor, at, e.product)
                : purchase(t, e.visitor, at, e.product)
          return { ...base, consent: consents[e.consent] ?? null }
        }
        yield* collect(...history.map((e) => make(everything, e)))
        yield* collect(...history.filter((e) => e.consent === "allowed").map((e) => make(allowedOnly, e)))
        yield* settle
        const store = yield* MembershipStore.MembershipStore
        for (const v of ["a", "b", "c"]) {
          assert.deepStrictEqual(yield* active(everything, v), yield* active(allowedOnly, v))
          const shape = (h: ReadonlyArray<{ audienceId: string; enteredAt: number; exitedAt: number | null }>) =>
            h.map((m) => [m.audienceId, m.enteredAt, m.exitedAt])
          assert.deepStrictEqual(
            shape(yield* store.history(everything, v)),
            shape(yield* store.history(allowedOnly, v))
          )
        }
      }),
    { fastCheck: { numRuns: 12 } }
  )

  it.effect("redelivered log records are applied once", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(T0)
      const t = unique()
      yield* define(t, "thrice", Audience.make([Rule.viewed().atLeast(3).within(days(14))]))
      yield* settle
      yield* collect(view(t, "v", T0, "p1"), view(t, "v", T0 + 1, "p1"))
      // A relay that crashed before committing forwards the same records again (carrying their first offset).
      const log = yield* EventLog.EventLog
      const again = yield* log.read(SqlAudienceJob.consumer, 100)
      yield* settle
      yield* log.append(
        again.map((r) => ({
          tenant: r.tenant,
          key: r.key,
          payload: { ...(r.payload as object), sourceOffset: r.offset }
        }))
      )
      yield* settle
      assert.deepStrictEqual(yield* active(t, "v"), [], "two views are still two")
      yield* collect(view(t, "v", T0 + 2, "p1"))
      yield* settle
      assert.strictEqual((yield* active(t, "v")).length, 1)
    })
  )
}
