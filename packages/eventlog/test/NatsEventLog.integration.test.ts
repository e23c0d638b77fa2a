import { randomUUID } from "node:crypto"
import { assert, describe, it, layer } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { connect } from "nats"
import { EventLog, NatsEventLog } from "../src/index.js"
import { eventLogSuite } from "./eventLogSuite.js"
import { unique } from "./fixtures.js"

const natsUrl = process.env.OA_TEST_NATS_URL ?? "nats://127.0.0.1:4222"

/** Whether a NATS server with JetStream answers, or why not. */
const probe = async (): Promise<{ readonly ok: true } | { readonly ok: false; readonly reason: string }> => {
  try {
    const nc = await connect({ servers: natsUrl, timeout: 2000 })
    try {
      await nc.jetstreamManager()
      return { ok: true }
    } finally {
      await nc.close()
    }
  } catch (cause) {
    return { ok: false, reason: cause instanceof Error ? cause.message : String(cause) }
  }
}

const nats = await probe()

/** A stream and subject prefix of the test's own, deleted when the layer is released. */
const isolated = (name: string) => {
  const id = randomUUID().replaceAll("-", "").slice(0, 12)
  return NatsEventLog.layer({
    servers: natsUrl,
    stream: `OA_TEST_${name}_${id}`,
    subjectPrefix: `oatest.${id}.events`,
    deleteStreamOnClose: true
  })
}

describe("NatsEventLog.subjectToken", () => {
  it("keeps safe tokens and escapes everything that could change a subject's shape", () => {
    assert.strictEqual(NatsEventLog.subjectToken("shop_1-a"), "shop_1-a")
    assert.strictEqual(NatsEventLog.subjectToken("a.b*c>d e"), "a%2Eb%2Ac%3Ed%20e")
    assert.strictEqual(NatsEventLog.subjectToken("50%"), "50%25")
    assert.strictEqual(NatsEventLog.subjectToken(""), "%")
    assert.strictEqual(NatsEventLog.subjectToken("é"), "%C3%A9")
  })
})

if (nats.ok) {
  layer(isolated("suite"), { excludeTestServices: true, timeout: "30 seconds" })("EventLog (NATS JetStream)", (it) => {
    eventLogSuite(it)

    it.effect("publishes to oa-style subjects per tenant and partition key", () =>
      Effect.gen(function* () {
        const log = yield* EventLog.EventLog
        const consumer = unique("subjects")
        yield* log.commit(consumer, yield* log.lastOffset)
        yield* log.append([{ tenant: "shop.eu", key: "visitor 1", payload: { n: 1 } }])
        const [record] = yield* log.read(consumer, 1)
        assert.strictEqual(record?.tenant, "shop.eu")
        assert.strictEqual(record?.key, "visitor 1")
      })
    )
  })

  describe("EventLog (NATS JetStream) durability", () => {
    it.effect("a consumer's committed offset survives reconnecting, and uncommitted records come again", () =>
      Effect.gen(function* () {
        const id = randomUUID().replaceAll("-", "").slice(0, 12)
        const options = {
          servers: natsUrl,
          stream: `OA_TEST_durable_${id}`,
          subjectPrefix: `oatest.${id}.events`,
          ackWait: "1 second"
        } as const
        const first = yield* Effect.gen(function* () {
          const log = yield* EventLog.EventLog
          const offsets = yield* log.append(["a", "b", "c"].map((key) => ({ tenant: "t", key, payload: key })))
          const read = yield* log.read("worker", 3)
          yield* log.commit("worker", read[0]!.offset)
          return offsets
        }).pipe(Effect.provide(NatsEventLog.layer(options)))
        // A new connection, as after a restart: "b" and "c" were read but never committed.
        const again = yield* Effect.gen(function* () {
          const log = yield* EventLog.EventLog
          const committed = yield* log.committed("worker")
          let records: ReadonlyArray<{ readonly key: string }> = []
          for (let i = 0; i < 10 && records.length < 2; i++) records = yield* log.read("worker", 10)
          return { committed, keys: records.map((r) => r.key) }
        }).pipe(Effect.provide(NatsEventLog.layer({ ...options, deleteStreamOnClose: true })))
        assert.strictEqual(again.committed, first[0])
        assert.deepStrictEqual(again.keys, ["b", "c"])
      })
    )
  })
} else if (process.env.CI === "true") {
  describe("EventLog (NATS JetStream)", () => {
    it(`needs NATS with JetStream at ${natsUrl}`, () => {
      assert.fail(`NATS is unreachable in CI: ${nats.reason}`)
    })
  })
} else {
  describe.skip(`EventLog (NATS JetStream) skipped: NATS unreachable at ${natsUrl} (${nats.reason})`, () => {
    it("runs the EventLog suite on NATS JetStream", () => {})
  })
}
