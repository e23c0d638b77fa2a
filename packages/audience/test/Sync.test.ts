/**
 * The audience job over the in-memory ports: edits and backfills, the event stream, the sweep, what is recorded. The
 * same job runs over SQL in @openaudience/storage-sql (its audience job suite, on SQLite and PostgreSQL).
 */
import { assert, describe, it } from "@effect/vitest"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as TestClock from "effect/TestClock"
import * as Audience from "../src/Audience.js"
import type * as AudienceRule from "../src/AudienceRule.js"
import * as ChangeSink from "../src/ChangeSink.js"
import * as MembershipStore from "../src/MembershipStore.js"
import * as Rule from "../src/Rule.js"
import * as Sync from "../src/Sync.js"
import * as SyncSource from "../src/SyncSource.js"
import * as SyncStore from "../src/SyncStore.js"
import type { VisitorEvent } from "../src/VisitorEvent.js"
import { DAY, HOUR, receipt, T0, view } from "./fixtures/events.js"

const { days } = Rule

/** Fresh in-memory ports, the means to fill them, and the job's round (edits, the deliveries pending, the sweep). */
const world = () => {
  const source = SyncSource.makeMemory()
  const sink = ChangeSink.makeMemory()
  const store = SyncStore.makeMemory()
  const members = MembershipStore.makeMemory()
  const context = Context.make(SyncSource.SyncSource, source).pipe(
    Context.add(SyncStore.SyncStore, store),
    Context.add(ChangeSink.ChangeSink, sink),
    Context.add(MembershipStore.MembershipStore, members)
  )
  let position = 0
  let pending: Array<Sync.Delivery> = []
  const run = <A, E>(effect: Effect.Effect<A, E, Sync.Ports>) => Effect.provide(effect, context)
  /** Stores events and queues the delivery naming them, as the collector and the event log would. */
  const collect = (tenant: string, ...events: ReadonlyArray<VisitorEvent>) =>
    Effect.map(source.store(tenant, events), (stored) => {
      const seqs = stored.map((e) => e.seq)
      const delivery = { position: ++position, tenant, ranges: [[Math.min(...seqs), Math.max(...seqs)] as const] }
      pending.push(delivery)
      return delivery
    })
  const step = run(
    Effect.gen(function* () {
      let work = yield* Sync.applyAllEdits
      const deliveries = pending
      pending = []
      yield* Sync.ingest(deliveries)
      work += deliveries.length
      work += yield* Sync.sweep()
      return work
    })
  )
  const settle = Effect.gen(function* () {
    for (let i = 0; i < 100; i++) if ((yield* step) === 0) return
    assert.fail("the audience job did not settle")
  })
  const define = (tenant: string, audiences: ReadonlyArray<{ id: string; rule: AudienceRule.AudienceRule }>) =>
    source.define(tenant, audiences)
  const active = (tenant: string, visitor: string) =>
    Effect.flatMap(TestClock.currentTimeMillis, (now) =>
      Effect.map(members.memberships(tenant, visitor, now), (list) =>
        list.map((m) => `${m.audienceId}[${m.products.join(",")}]`).sort()
      )
    )
  const count = (tenant: string, audienceId: string) =>
    Effect.flatMap(TestClock.currentTimeMillis, (now) => members.count(tenant, audienceId, now))
  return { source, sink, store, members, run, collect, step, settle, define, active, count }
}

const as = (visitor: string) => ({ visitor })
const twice = Audience.make([Rule.viewed().atLeast(2).within(days(14))])

describe("Sync over the in-memory ports", () => {
  it.effect("an edit backfills from the events already delivered; the stream brings the rest, each counted once", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(T0)
      const w = world()
      yield* w.collect(
        "t",
        view(T0 - 3 * DAY, "p1", "shoes", 8_900, as("a")),
        view(T0 - DAY, "p2", "shoes", 8_900, as("a"))
      )
      yield* w.collect("t", view(T0 - 2 * DAY, "p1", "shoes", 8_900, as("b")))
      yield* w.collect("t", view(T0 - DAY, "p1", "shoes", 8_900, { visitor: "c", consent: receipt(false) }))
      yield* w.collect("t", view(T0 - DAY, "p1", "shoes", 8_900, { visitor: "c", consent: receipt(false) }))
      yield* w.settle
      assert.deepStrictEqual(yield* w.members.visitors("t", undefined, 10), [], "no audience, no state")
      assert.isTrue(Option.isNone(yield* w.run(Sync.status("t"))))

      yield* w.define("t", [{ id: "twice", rule: twice }])
      // Stored but not delivered yet when the edit is applied: the backfill leaves it to the stream.
      yield* w.collect("t", view(T0, "p3", "shoes", 8_900, as("b")))
      assert.strictEqual(yield* w.run(Sync.applyAllEdits), 1)
      assert.deepStrictEqual(yield* w.active("t", "a"), ["twice[]"], "backfilled")
      assert.deepStrictEqual(yield* w.active("t", "b"), [], "b's second view is not replayed by the backfill")
      const status = Option.getOrThrow(yield* w.run(Sync.status("t")))
      assert.deepStrictEqual(
        [status.sync, status.revision, status.targetRevision, status.processed, status.total, status.error],
        ["ready", 1, 1, 6, 6, null]
      )
      yield* w.settle
      assert.deepStrictEqual(yield* w.active("t", "b"), ["twice[]"], "the stream brought it")
      assert.deepStrictEqual(yield* w.active("t", "c"), [], "no consent, no membership")
      assert.strictEqual((yield* w.members.history("t", "b")).length, 1)

      const emitted = yield* w.sink.emitted
      assert.deepStrictEqual(
        emitted.map((e) => [e.visitor, e.change._tag, e.change.audienceId]),
        [
          ["a", "Entered", "twice"],
          ["b", "Entered", "twice"]
        ]
      )
      assert.deepStrictEqual(yield* w.run(Sync.daily("t", "twice", "2026-03-01")), [
        { day: "2026-03-02", entered: 2, exited: 0 }
      ])
    })
  )

  it.effect("a step naming more events than one read leaves what the same events delivered one by one leave", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(T0)
      const audiences = [
        { id: "twice", rule: twice },
        { id: "p7", rule: Audience.make([Rule.viewed({ productId: "p7" }).within(days(3))]) }
      ]
      // 2,600 views of 5 visitors over ten days (more than two reads' worth in one delivery), some without consent.
      const events = Array.from({ length: 2_600 }, (_, n) =>
        view(T0 - 10 * DAY + n * 331_000, `p${(n * 7) % 11}`, "shoes", 8_900, {
          visitor: `v${(n * 3) % 5}`,
          consent: receipt(n % 13 !== 0)
        })
      )
      const whole = world()
      const oneByOne = world()
      for (const w of [whole, oneByOne]) {
        yield* w.define("t", audiences)
        yield* w.settle
      }
      const stored = yield* whole.source.store("t", events)
      const seqs = stored.map((e) => e.seq)
      yield* whole.run(Sync.ingest([{ position: 1, tenant: "t", ranges: [[Math.min(...seqs), Math.max(...seqs)]] }]))
      for (const event of events) {
        yield* oneByOne.collect("t", event)
        yield* oneByOne.settle
      }
      for (const visitor of ["v0", "v1", "v2", "v3", "v4"]) {
        assert.deepStrictEqual(yield* whole.active("t", visitor), yield* oneByOne.active("t", visitor), visitor)
      }
      assert.isAbove(yield* whole.count("t", "twice"), 0)
      assert.isAbove(yield* whole.count("t", "p7"), 0)
      assert.deepStrictEqual(yield* whole.store.cursor, { position: 1, highSeq: Math.max(...seqs) })
    })
  )

  it.effect("a delivery at or below the recorded position is a repeat and changes nothing", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(T0)
      const w = world()
      yield* w.define("t", [{ id: "thrice", rule: Audience.make([Rule.viewed().atLeast(3).within(days(14))]) }])
      yield* w.settle
      const first = yield* w.collect(
        "t",
        view(T0, "p1", "shoes", 8_900, as("v")),
        view(T0 + 1, "p1", "shoes", 8_900, as("v"))
      )
      yield* w.settle
      yield* w.run(Sync.ingest([first, first]))
      assert.deepStrictEqual(yield* w.active("t", "v"), [], "two views are still two")
      yield* w.collect("t", view(T0 + 2, "p1", "shoes", 8_900, as("v")))
      yield* w.settle
      assert.deepStrictEqual(yield* w.active("t", "v"), ["thrice[]"])
      assert.deepStrictEqual(yield* w.store.cursor, { position: 2, highSeq: 3 })
    })
  )

  it.effect("the sweep ends memberships as windows slide and expiry comes, with no new event", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(T0)
      const w = world()
      yield* w.define("t", [
        { id: "shoes", rule: Audience.make([Rule.viewed({ category: "shoes" }).atLeast(2).within(days(14))]) },
        { id: "brief", rule: Audience.make([Rule.viewed().within(days(30))], { expiry: days(2) }) }
      ])
      yield* w.collect("t", view(T0, "p1", "shoes", 8_900, as("v")), view(T0 + HOUR, "p2", "shoes", 8_900, as("v")))
      yield* w.settle
      assert.deepStrictEqual(yield* w.active("t", "v"), ["brief[]", "shoes[]"])
      yield* TestClock.setTime(T0 + 3 * DAY)
      yield* w.settle
      assert.deepStrictEqual(yield* w.active("t", "v"), ["shoes[]"], "expired after 2 days")
      yield* TestClock.setTime(Date.UTC(2026, 2, 17))
      yield* w.settle
      assert.deepStrictEqual(yield* w.active("t", "v"), [], "the window slid past the first view")
      assert.deepStrictEqual(yield* w.run(Sync.daily("t", "shoes", "2026-03-01")), [
        { day: "2026-03-17", entered: 0, exited: 1 },
        { day: "2026-03-02", entered: 1, exited: 0 }
      ])
      const exits = (yield* w.sink.emitted).filter((e) => e.change._tag === "Exited")
      assert.deepStrictEqual(
        exits.map((e) => [e.change.audienceId, e.change._tag === "Exited" ? e.change.reason : ""]),
        [
          ["brief", "expired"],
          ["shoes", "rule"]
        ]
      )
    })
  )

  it.effect("a backfill that fails half-way resumes where it stopped and counts every visitor once", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(T0)
      const w = world()
      const visitors = Array.from({ length: 250 }, (_, i) => `v${String(i).padStart(3, "0")}`)
      for (const v of visitors) {
        yield* w.collect("t", view(T0 - DAY, "p1", "shoes", 8_900, as(v)), view(T0 - HOUR, "p2", "shoes", 8_900, as(v)))
      }
      yield* w.settle
      yield* w.define("t", [{ id: "twice", rule: twice }])
      let commits = 0
      const failing = MembershipStore.MembershipStore.of({
        ...w.members,
        commit: (tenant, visitor, commit) =>
          ++commits > 220
            ? Effect.fail(new MembershipStore.MembershipStoreError({ message: "disk full" }))
            : w.members.commit(tenant, visitor, commit)
      })
      const failed = yield* Effect.flip(
        w.run(Sync.applyEdits("t").pipe(Effect.provideService(MembershipStore.MembershipStore, failing)))
      )
      assert.strictEqual(failed._tag, "MembershipStoreError")
      const stopped = Option.getOrThrow(yield* w.run(Sync.status("t")))
      assert.deepStrictEqual([stopped.sync, stopped.revision, stopped.targetRevision], ["backfilling", 0, 1])
      assert.isBelow(stopped.processed, stopped.total)
      yield* w.settle
      assert.strictEqual(yield* w.count("t", "twice"), 250)
      for (const v of [visitors[0]!, visitors[210]!, visitors[249]!]) {
        assert.strictEqual((yield* w.members.history("t", v)).length, 1, `${v} entered once`)
      }
      const done = Option.getOrThrow(yield* w.run(Sync.status("t")))
      assert.deepStrictEqual([done.sync, done.revision, done.processed, done.total], ["ready", 1, 500, 500])
      assert.deepStrictEqual(yield* w.run(Sync.daily("t", "twice", "2026-03-01")), [
        { day: "2026-03-02", entered: 250, exited: 0 }
      ])
    })
  )

  it.effect("deleting an audience drops its memberships; audiences that do not compile leave the program applied", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(T0)
      const w = world()
      const any = { id: "any", rule: Audience.make([Rule.viewed().within(days(30))]) }
      yield* w.define("t", [{ id: "twice", rule: twice }, any])
      yield* w.collect("t", view(T0, "p1", "shoes", 8_900, as("v")))
      yield* w.settle
      assert.deepStrictEqual(yield* w.active("t", "v"), ["any[]"])
      yield* w.define("t", [{ id: "twice", rule: twice }])
      yield* w.settle
      assert.deepStrictEqual(yield* w.members.history("t", "v"), [], "the deleted audience's memberships are gone")

      const broken = { id: "broken", rule: { ...twice, conditions: [] } as AudienceRule.AudienceRule }
      yield* w.define("t", [{ id: "twice", rule: twice }, broken])
      assert.strictEqual(yield* w.run(Sync.applyAllEdits), 0)
      const status = Option.getOrThrow(yield* w.run(Sync.status("t")))
      assert.strictEqual(status.revision, 2, "the last program that compiled stays applied")
      assert.isString(status.error)
      assert.deepStrictEqual(
        (yield* w.run(Sync.applied("t"))).program.audiences.map((a) => a.id),
        ["twice"]
      )
    })
  )
})
