import { assert, describe, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Schedule from "effect/Schedule"
import * as TestClock from "effect/TestClock"
import fc from "fast-check"
import { Erasure, Registry, Subject } from "../src/index.js"

interface Fake extends Registry.SubjectStore {
  readonly rows: Map<string, number>
  eraseCalls: number
}

const key = (subject: Subject.Subject) => `${subject._tag}:${subject.tenant}:${Subject.idOf(subject)}`

/**
 * An in-memory store: `rows` counts rows per subject. `failErase` fails that many erase calls
 * (deleting nothing in them); `forgets` answers erase with a count but deletes nothing; `unreachable` fails every count.
 */
const fakeStore = (
  name: string,
  initial: ReadonlyArray<readonly [Subject.Subject, number]>,
  behaviour: { failErase?: number; forgets?: boolean; unreachable?: boolean; retained?: Registry.Retained[] } = {}
): Fake => {
  const rows = new Map(initial.map(([subject, count]) => [key(subject), count] as const))
  let failures = behaviour.failErase ?? 0
  const unavailable = (message: string) => new Registry.StoreUnavailable({ store: name, message })
  const store: Fake = {
    name,
    kinds: ["Visitor", "Browser", "User"],
    tables: [{ table: name, subjectColumns: ["visitor"] }],
    retained: behaviour.retained ?? [],
    rows,
    eraseCalls: 0,
    count: (subject) =>
      behaviour.unreachable
        ? Effect.fail(unavailable("connection refused"))
        : Effect.succeed(rows.get(key(subject)) ?? 0),
    export: () => Effect.succeed([]),
    erase: (subject) =>
      Effect.suspend(() => {
        store.eraseCalls++
        const had = rows.get(key(subject)) ?? 0
        if (failures > 0) {
          failures--
          return Effect.fail(unavailable("connection reset while deleting"))
        }
        if (behaviour.forgets) return Effect.succeed(had)
        rows.delete(key(subject))
        return Effect.succeed(had)
      })
  }
  return store
}

const alice = new Subject.Visitor({ tenant: "shop", visitor: "v-alice" })
const aliceBrowser = new Subject.Browser({ tenant: "shop", browser: "b-alice" })
const bob = new Subject.Visitor({ tenant: "shop", visitor: "v-bob" })

describe("Erasure.erase", () => {
  it.effect("erases every subject from every store, verifies, and reports what each store erased", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(1_000)
      const events = fakeStore("events", [
        [alice, 5],
        [aliceBrowser, 2],
        [bob, 7]
      ])
      const audit = fakeStore("audit", [[alice, 1]], {
        retained: [{ store: "audit", what: "the request record", why: "proof of compliance" }]
      })
      const outcome = yield* Erasure.erase([events, audit], [alice, aliceBrowser])
      assert.deepStrictEqual(outcome, {
        stores: [
          { name: "events", erased: 7, remaining: 0 },
          { name: "audit", erased: 1, remaining: 0 }
        ],
        retained: [{ store: "audit", what: "the request record", why: "proof of compliance" }],
        startedAt: 1_000,
        completedAt: 1_000
      })
      assert.deepStrictEqual([...events.rows], [[key(bob), 7]])
    })
  )

  it.effect("deletes nothing when a store cannot be reached", () =>
    Effect.gen(function* () {
      const events = fakeStore("events", [[alice, 5]])
      const down = fakeStore("audiences", [[alice, 2]], { unreachable: true })
      const error = yield* Effect.flip(Erasure.erase([events, down], [alice]))
      assert.strictEqual(error._tag, "ErasureFailed")
      assert.strictEqual(error.reason, "Unreachable")
      assert.strictEqual(error.store, "audiences")
      assert.strictEqual(events.rows.get(key(alice)), 5)
      assert.strictEqual(events.eraseCalls, 0)
    })
  )

  it.effect("fails as a whole when a store fails while erasing, and a retry completes and verifies", () =>
    Effect.gen(function* () {
      const events = fakeStore("events", [
        [alice, 5],
        [aliceBrowser, 1]
      ])
      const flaky = fakeStore(
        "audiences",
        [
          [alice, 3],
          [aliceBrowser, 4]
        ],
        { failErase: 1 }
      )
      const first = yield* Effect.exit(Erasure.erase([events, flaky], [alice, aliceBrowser]))
      assert.isTrue(Exit.isFailure(first))
      const error = yield* Effect.flip(first)
      assert.strictEqual(error.reason, "EraseFailed")
      assert.strictEqual(error.store, "audiences")
      assert.strictEqual(events.rows.size, 0)
      assert.isAbove(flaky.rows.size, 0)

      const retry = yield* Erasure.erase([events, flaky], [alice, aliceBrowser])
      assert.deepStrictEqual(
        retry.stores.map((store) => store.remaining),
        [0, 0]
      )
      assert.strictEqual(flaky.rows.size, 0)
      for (const store of [events, flaky]) {
        for (const subject of [alice, aliceBrowser]) assert.strictEqual(yield* store.count(subject), 0)
      }
    })
  )

  it.effect("runs the erasure phase in the transaction, so a failure keeps nothing of it", () =>
    Effect.gen(function* () {
      const events = fakeStore("events", [[alice, 5]])
      const flaky = fakeStore("audiences", [[alice, 3]], { failErase: 1 })
      let transactions = 0
      const transaction = <A, E, R>(self: Effect.Effect<A, E, R>) =>
        Effect.suspend(() => {
          transactions++
          const snapshot = [events, flaky].map((store) => new Map(store.rows))
          return Effect.tapError(self, () =>
            Effect.sync(() =>
              [events, flaky].forEach((store, index) => {
                store.rows.clear()
                for (const [k, v] of snapshot[index]!) store.rows.set(k, v)
              })
            )
          )
        })
      const error = yield* Effect.flip(Erasure.erase([events, flaky], [alice], { transaction }))
      assert.strictEqual(error.reason, "EraseFailed")
      assert.strictEqual(events.rows.get(key(alice)), 5)
      const outcome = yield* Erasure.erase([events, flaky], [alice], { transaction })
      assert.deepStrictEqual(outcome.stores, [
        { name: "events", erased: 5, remaining: 0 },
        { name: "audiences", erased: 3, remaining: 0 }
      ])
      assert.strictEqual(transactions, 2)
    })
  )

  it.effect("refuses to report as done a store that still holds rows (NotVerified)", () =>
    Effect.gen(function* () {
      const events = fakeStore("events", [[alice, 5]])
      const forgetful = fakeStore("impressions", [[alice, 2]], { forgets: true })
      const error = yield* Effect.flip(Erasure.erase([events, forgetful], [alice]))
      assert.strictEqual(error.reason, "NotVerified")
      assert.strictEqual(error.store, "impressions")
      assert.include(error.message, "impressions (2)")
    })
  )

  it.effect("retried with retrySchedule, backs off and succeeds once the store recovers", () =>
    Effect.gen(function* () {
      const flaky = fakeStore("events", [[alice, 5]], { failErase: 3 })
      const fiber = yield* Effect.fork(Effect.retry(Erasure.erase([flaky], [alice]), Erasure.retrySchedule))
      yield* TestClock.adjust(Duration.millis(700))
      assert.strictEqual(flaky.eraseCalls, 1)
      yield* TestClock.adjust(Duration.seconds(10))
      const outcome = yield* Fiber.join(fiber)
      assert.strictEqual(flaky.eraseCalls, 4)
      assert.deepStrictEqual(outcome.stores, [{ name: "events", erased: 5, remaining: 0 }])
    })
  )

  it.effect(
    "retrySchedule doubles from about 1 s, caps each delay at 5 minutes (±20 %) and stops after 10 retries",
    () =>
      Effect.gen(function* () {
        const delays = Chunk.toReadonlyArray(
          yield* Schedule.run(
            Schedule.delays(Erasure.retrySchedule),
            0,
            Array.from({ length: 20 }, () => undefined)
          )
        ).map(Duration.toMillis)
        // ten delays, then the schedule is done (its last step carries no delay)
        assert.strictEqual(delays.length, 11)
        assert.strictEqual(delays[10], 0)
        delays.slice(0, 10).forEach((delay, index) => {
          const base = Math.min(1000 * 2 ** index, 300_000)
          assert.isAtLeast(delay, base * 0.8)
          assert.isAtMost(delay, base * 1.2)
        })
        const down = fakeStore("events", [[alice, 1]], { unreachable: true })
        let attempts = 0
        const attempt = Effect.suspend(() => {
          attempts++
          return Erasure.erase([down], [alice])
        })
        const fiber = yield* Effect.fork(Effect.flip(Effect.retry(attempt, Erasure.retrySchedule)))
        yield* TestClock.adjust(Duration.hours(1))
        const error = yield* Fiber.join(fiber)
        assert.strictEqual(error.reason, "Unreachable")
        assert.strictEqual(attempts, 11)
      })
  )

  it("leaves no row of the subjects and erases exactly what they had, for any stores and subjects", () => {
    const arbSubject = fc.oneof(
      fc.constantFrom("a", "b", "c").map((visitor) => new Subject.Visitor({ tenant: "t", visitor })),
      fc.constantFrom("a", "b").map((browser) => new Subject.Browser({ tenant: "t", browser })),
      fc.constantFrom("a", "b").map((user) => new Subject.User({ tenant: "u", user }))
    )
    const arbStore = fc.array(fc.tuple(arbSubject, fc.integer({ min: 1, max: 50 })), { maxLength: 6 })
    fc.assert(
      fc.property(
        fc.array(arbStore, { minLength: 1, maxLength: 4 }),
        fc.uniqueArray(arbSubject, { selector: key, minLength: 1, maxLength: 4 }),
        (data, subjects) => {
          const stores = data.map((rows, index) => fakeStore(`store-${index}`, rows))
          const initial = stores.map((store) => subjects.reduce((sum, s) => sum + (store.rows.get(key(s)) ?? 0), 0))
          const others = stores.map(
            (store) => new Map([...store.rows].filter(([k]) => !subjects.some((s) => key(s) === k)))
          )
          const outcome = Effect.runSync(Erasure.erase(stores, subjects))
          assert.deepStrictEqual(
            outcome.stores.map((store) => store.erased),
            initial
          )
          stores.forEach((store, index) => {
            for (const subject of subjects) assert.strictEqual(Effect.runSync(store.count(subject)), 0)
            assert.deepStrictEqual(store.rows, others[index])
          })
        }
      )
    )
  })
})
