/**
 * The sink port: the in-memory sink keeps a `(tenant, eventId)` once, and a callback sink and its Effect service
 * turn into each other without changing outcomes or failures (retry-after included).
 */
import { assert, describe, it } from "@effect/vitest"
import type { StoredEvent } from "@openaudience/event-schema"
import * as Effect from "effect/Effect"
import * as Sink from "../src/Sink.js"

const row = (tenant: string, eventId: string): StoredEvent.StoredEvent => ({
  tenant,
  eventId,
  type: "page_view",
  site: "demo",
  receivedAt: 0,
  clientTs: null,
  visitor: null,
  payload: {},
  consent: null
})

const results = <A>(run: (done: (a: A) => void) => void): Array<A> => {
  const out: Array<A> = []
  run((a) => out.push(a))
  return out
}

describe("Sink", () => {
  it("memory keeps each (tenant, eventId) once, whichever call brought it", () => {
    const sink = Sink.memory()
    assert.deepStrictEqual(
      results((done) => sink.append([row("a", "1"), row("b", "1")], done)),
      [undefined]
    )
    assert.deepStrictEqual(
      results((done) => sink.store([row("a", "1"), row("a", "2"), row("a", "2")], done)),
      [{ _tag: "Stored", outcomes: ["duplicate", "accepted", "duplicate"] }]
    )
    assert.deepStrictEqual(
      sink.rows().map((r) => `${r.tenant}/${r.eventId}`),
      ["a/1", "b/1", "a/2"]
    )
  })

  it.effect("a sink as a service and back keeps outcomes and failures", () =>
    Effect.gen(function* () {
      const service = Sink.toService(Sink.memory())
      assert.deepStrictEqual(yield* service.store([row("a", "1"), row("a", "1")]), ["accepted", "duplicate"])
      const failing = Sink.toService({
        append: (_rows, done) => done({ message: "full", retryAfterSeconds: 5 }),
        store: (_rows, done) => done({ _tag: "Failed", message: "down" })
      })
      const error = yield* Effect.flip(failing.append([row("a", "2")]))
      assert.strictEqual(error._tag, "SinkError")
      assert.strictEqual(error.retryAfterSeconds, 5)
      const back = yield* Sink.fromService(failing)
      const stored = yield* Effect.async<Sink.StoreResult>((resume) =>
        back.store([row("a", "3")], (result) => resume(Effect.succeed(result)))
      )
      assert.deepStrictEqual(stored, { _tag: "Failed", message: "down" })
      const appended = yield* Effect.async<Sink.Failure | undefined>((resume) =>
        back.append([row("a", "3")], (failure) => resume(Effect.succeed(failure)))
      )
      assert.deepStrictEqual(appended, { message: "full", retryAfterSeconds: 5 })
      const fromMemory = yield* Sink.fromService(Sink.toService(Sink.memory()))
      const ok = yield* Effect.async<Sink.StoreResult>((resume) =>
        fromMemory.store([row("a", "4")], (result) => resume(Effect.succeed(result)))
      )
      assert.deepStrictEqual(ok, { _tag: "Stored", outcomes: ["accepted"] })
    })
  )

  it.effect("layerMemory provides an EventSink", () =>
    Effect.gen(function* () {
      const sink = yield* Sink.EventSink
      assert.deepStrictEqual(yield* sink.store([row("t", "1")]), ["accepted"])
      yield* sink.append([row("t", "1")])
      assert.deepStrictEqual(yield* sink.store([row("t", "1")]), ["duplicate"])
    }).pipe(Effect.provide(Sink.layerMemory))
  )
})
