/**
 * The write-behind: wrapped, the ad log still behaves as every ad log (the shared suite), decisions reach the store
 * at the next flush and are readable before it, budgets are never passed however charges and flushes interleave
 * (and what was accepted is what the store holds after a flush), a failing store loses nothing, and another
 * process's spend is seen after a flush.
 */
import { assert, describe, it, layer } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as fc from "effect/FastCheck"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as AdLog from "../src/AdLog.js"
import * as Budget from "../src/Budget.js"
import * as WriteBehind from "../src/WriteBehind.js"
import { adLogSuite, decisionOf } from "./adLogSuite.js"

const wrapped = WriteBehind.layer({ interval: "10 millis" }).pipe(
  Layer.provide(Layer.merge(AdLog.layerMemory, Budget.layerMemory))
)

layer(wrapped, { excludeTestServices: true })("AdLog behind WriteBehind", adLogSuite)

const day = 86_400_000
const now = 20_000 * day + 3_600_000

/** An inner delivery store whose writes can be made to fail. */
const flaky = () => {
  const inner = Budget.makeMemory()
  const state = { failing: false, charges: 0 }
  const service: Budget.Service = {
    read: inner.read,
    charge: (id, cost, limits, at) =>
      Effect.suspend(() => {
        if (state.failing) return Effect.fail(new Budget.DeliveryStoreError({ message: "down" }))
        state.charges++
        return inner.charge(id, cost, limits, at)
      }),
    setPacing: inner.setPacing
  }
  return { inner, service, state }
}

describe("WriteBehind", () => {
  it.effect("decisions wait in memory until a flush, are readable meanwhile, and a click flushes first", () =>
    Effect.gen(function* () {
      const inner = AdLog.makeMemory()
      const { log, service } = yield* WriteBehind.make(inner, Budget.makeMemory())
      const decision = decisionOf("t1", { id: "dec-wb-1", visitor: "v1" })
      yield* log.recordDecision(decision)
      assert.isTrue(Option.isNone(yield* inner.decision("dec-wb-1")))
      assert.deepStrictEqual(yield* log.decision("dec-wb-1"), Option.some(decision))
      assert.deepStrictEqual(service.pending().decisions, 1)
      const twice = yield* Effect.either(log.recordDecision(decision))
      assert.isTrue(twice._tag === "Left" && twice.left.reason === "InvalidInput")
      // A click needs the stored decision: it flushes, then counts once.
      assert.isTrue(yield* log.recordClick("dec-wb-1", decision.at + 1_000))
      assert.isFalse(yield* log.recordClick("dec-wb-1", decision.at + 2_000))
      assert.isTrue(Option.isSome(yield* inner.decision("dec-wb-1")))
      assert.strictEqual(service.pending().decisions, 0)
    })
  )

  it.effect("never passes a daily or total limit, and the store holds what was accepted after a flush", () =>
    Effect.promise(() =>
      fc.assert(
        fc.asyncProperty(
          fc.array(fc.tuple(fc.integer({ min: 1, max: 5_000 }), fc.boolean(), fc.integer({ min: 0, max: 2 })), {
            minLength: 1,
            maxLength: 120
          }),
          fc.integer({ min: 1, max: 60_000 }),
          fc.integer({ min: 1, max: 150_000 }),
          (steps, daily, total) =>
            Effect.runPromise(
              Effect.gen(function* () {
                const inner = Budget.makeMemory()
                const { delivery, service } = yield* WriteBehind.make(AdLog.makeMemory(), inner)
                const limits: Budget.Limits = { daily, total }
                const accepted = new Map<number, number>()
                let acceptedTotal = 0
                // Time moves forward (charges over up to three days, in order).
                const ordered = [...steps].sort((a, b) => a[2] - b[2])
                for (const [cost, flush, dayOffset] of ordered) {
                  const at = now + dayOffset * day
                  if (yield* delivery.charge("c1", cost, limits, at)) {
                    accepted.set(dayOffset, (accepted.get(dayOffset) ?? 0) + cost)
                    acceptedTotal += cost
                  }
                  if (flush) yield* service.flush
                }
                for (const spent of accepted.values()) assert.isAtMost(spent, daily)
                assert.isAtMost(acceptedTotal, total)
                yield* service.flush
                assert.strictEqual((yield* inner.read("c1")).spend.total, acceptedTotal)
                assert.strictEqual((yield* delivery.read("c1")).spend.total, acceptedTotal)
              })
            )
        ),
        { numRuns: 150 }
      )
    )
  )

  it.effect("a failing store keeps the charges and decisions for the next flush", () =>
    Effect.gen(function* () {
      const { inner, service: flakyStore, state } = flaky()
      const innerLog = AdLog.makeMemory()
      const { log, delivery, service } = yield* WriteBehind.make(innerLog, flakyStore)
      const limits: Budget.Limits = { daily: 10_000, total: 10_000 }
      assert.isTrue(yield* delivery.charge("c1", 4_000, limits, now))
      yield* log.recordDecision(decisionOf("t1", { id: "dec-wb-2" }))
      state.failing = true
      assert.isTrue((yield* Effect.either(service.flush))._tag === "Left")
      // Still counted here while the store is down: no overspend.
      assert.isTrue(yield* delivery.charge("c1", 6_000, limits, now))
      assert.isFalse(yield* delivery.charge("c1", 1, limits, now))
      state.failing = false
      yield* service.flush
      assert.strictEqual((yield* inner.read("c1")).spend.total, 10_000)
      assert.isTrue(Option.isSome(yield* innerLog.decision("dec-wb-2")))
    })
  )

  it.effect("a flush interrupted while writing keeps its decisions readable and writes them at the next flush", () =>
    Effect.gen(function* () {
      const innerLog = AdLog.makeMemory()
      const state = { hanging: true }
      // A store whose group write hangs (a database that stopped answering) until told otherwise.
      const hanging: AdLog.Service = {
        ...innerLog,
        recordDecisions: (batch) => (state.hanging ? Effect.never : innerLog.recordDecisions(batch))
      }
      const { log, service } = yield* WriteBehind.make(hanging, Budget.makeMemory())
      const first = decisionOf("t1", { id: "dec-wb-int-1" })
      const second = decisionOf("t1", { id: "dec-wb-int-2" })
      yield* log.recordDecision(first)
      const stuck = yield* Effect.fork(service.flush)
      yield* Effect.yieldNow()
      // Taken by the running flush, still readable, counted, and refused a second time.
      yield* log.recordDecision(second)
      assert.deepStrictEqual(yield* log.decision(first.id), Option.some(first))
      assert.strictEqual(service.pending().decisions, 2)
      const twice = yield* Effect.either(log.recordDecision(first))
      assert.isTrue(twice._tag === "Left" && twice.left.reason === "InvalidInput")
      yield* Fiber.interrupt(stuck)
      assert.deepStrictEqual(yield* log.decision(first.id), Option.some(first))
      assert.strictEqual(service.pending().decisions, 2)
      state.hanging = false
      yield* service.flush
      assert.strictEqual(service.pending().decisions, 0)
      assert.deepStrictEqual(yield* innerLog.decision(first.id), Option.some(first))
      assert.deepStrictEqual(yield* innerLog.decision(second.id), Option.some(second))
    })
  )

  it.effect("sees what another process charged once it flushed", () =>
    Effect.gen(function* () {
      const inner = Budget.makeMemory()
      const { delivery, service } = yield* WriteBehind.make(AdLog.makeMemory(), inner)
      const limits: Budget.Limits = { daily: 10_000, total: undefined }
      assert.isTrue(yield* delivery.charge("c1", 3_000, limits, now))
      // Another process spends 6,000 through the store itself.
      assert.isTrue(yield* inner.charge("c1", 6_000, limits, now))
      yield* service.flush
      assert.strictEqual((yield* delivery.read("c1")).spend.today, 9_000)
      assert.isFalse(yield* delivery.charge("c1", 1_001, limits, now))
      assert.isTrue(yield* delivery.charge("c1", 1_000, limits, now))
    })
  )
})

describe("WriteBehind.Options.store", () => {
  const noLimit: Budget.Limits = { daily: undefined, total: undefined }

  it.effect("takes a flush's decisions and charges as one unit; the deliveries it answers are not read back", () =>
    Effect.gen(function* () {
      const innerLog = AdLog.makeMemory()
      const innerDelivery = Budget.makeMemory()
      let reads = 0
      const counting: Budget.Service = {
        ...innerDelivery,
        read: (id) =>
          Effect.zipRight(
            Effect.sync(() => reads++),
            innerDelivery.read(id)
          )
      }
      const units: Array<{ decisions: number; charges: ReadonlyArray<WriteBehind.Charge> }> = []
      const { log, delivery, service } = yield* WriteBehind.make(innerLog, counting, {
        store: (decisions, charges) =>
          Effect.gen(function* () {
            units.push({ decisions: decisions.length, charges })
            yield* innerLog.recordDecisions(decisions)
            const stored = new Map<string, Budget.Delivery>()
            for (const c of charges) {
              yield* innerDelivery.charge(c.campaignId, c.cost, noLimit, c.at)
              stored.set(c.campaignId, yield* innerDelivery.read(c.campaignId))
            }
            return stored
          }).pipe(Effect.mapError((error) => ({ message: error.message })))
      })
      assert.isTrue(yield* delivery.charge("c1", 300, noLimit, now))
      assert.isTrue(yield* delivery.charge("c1", 200, noLimit, now + 1))
      yield* log.recordDecision(decisionOf("t1", { id: "dec-store-1", at: now }))
      const before = reads
      yield* service.flush
      assert.strictEqual(reads, before, "a delivery the store answered was read back")
      assert.deepStrictEqual(units, [
        { decisions: 1, charges: [{ campaignId: "c1", cost: 500, at: Math.floor(now / day) * day }] }
      ])
      assert.strictEqual((yield* innerDelivery.read("c1")).spend.total, 500)
      assert.strictEqual((yield* delivery.read("c1")).spend.total, 500)
      assert.isTrue(Option.isSome(yield* innerLog.decision("dec-store-1")))
      assert.deepStrictEqual(service.pending(), { decisions: 0, charges: 0 })
    })
  )

  it.effect("a store that cannot now leaves the flush to the stores; one that fails loses nothing", () =>
    Effect.gen(function* () {
      const innerLog = AdLog.makeMemory()
      const { inner, service: flakyDelivery, state } = flaky()
      let mode: "cannot" | "fails" = "cannot"
      const { log, delivery, service } = yield* WriteBehind.make(innerLog, flakyDelivery, {
        store: () => (mode === "cannot" ? undefined : Effect.fail({ message: "thread down" }))
      })
      assert.isTrue(yield* delivery.charge("c2", 40, noLimit, now))
      yield* log.recordDecision(decisionOf("t1", { id: "dec-store-2", at: now }))
      yield* service.flush
      assert.strictEqual(state.charges, 1)
      assert.strictEqual((yield* inner.read("c2")).spend.total, 40)
      mode = "fails"
      assert.isTrue(yield* delivery.charge("c2", 60, noLimit, now))
      const failed = yield* Effect.either(service.flush)
      assert.isTrue(failed._tag === "Left" && failed.left.message === "thread down")
      // The charge waits (still counted by the ledger); the next flush through the stores writes it once.
      assert.strictEqual((yield* delivery.read("c2")).spend.total, 100)
      mode = "cannot"
      yield* service.flush
      assert.strictEqual((yield* inner.read("c2")).spend.total, 100)
      assert.deepStrictEqual(service.pending(), { decisions: 0, charges: 0 })
    })
  )
})
