/**
 * The scale-out event log: with OA_EVENTLOG=nats://… the collector still writes the SQL log in its commit
 * transaction, the relay forwards it to a JetStream stream of this test's own, and the worker consumes from
 * NATS. The stream is deleted afterwards. Fails in CI when NATS is unreachable.
 */
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { NatsEventLog } from "@openaudience/eventlog"
import * as Effect from "effect/Effect"
import { randomUUID } from "node:crypto"
import { connect } from "node:net"
import { adminKey, startServer, type TestServer } from "./support/server.js"

const natsUrl = process.env.OA_TEST_NATS_URL ?? "nats://127.0.0.1:4222"
const suffix = randomUUID().replaceAll("-", "").slice(0, 10)
const stream = `OA_TEST_SERVER_${suffix}`
const subjects = `oa.test.server.${suffix}`

const reachable = await new Promise<string | undefined>((resolve) => {
  const { hostname, port } = new URL(natsUrl.replace(/^nats:/, "http:"))
  const socket = connect(Number(port || 4222), hostname)
  socket.setTimeout(2000)
  socket.once("connect", () => {
    socket.destroy()
    resolve(undefined)
  })
  socket.once("error", (error) => resolve(error.message))
  socket.once("timeout", () => {
    socket.destroy()
    resolve("timed out")
  })
})

if (reachable !== undefined && process.env.CI !== "true") {
  console.warn(`server with the NATS event log: not run, NATS is unreachable at ${natsUrl}: ${reachable}`)
}

describe.runIf(reachable === undefined || process.env.CI === "true")("server with the NATS event log", () => {
  let server: TestServer
  beforeAll(async () => {
    if (reachable !== undefined) throw new Error(`NATS is unreachable at ${natsUrl}: ${reachable}`)
    server = await startServer({
      eventLog: { _tag: "Nats", servers: [natsUrl] },
      eventLogStream: stream,
      eventLogSubjects: subjects
    })
  })
  afterAll(async () => {
    await server?.stop()
    if (reachable === undefined) {
      await Effect.runPromise(
        Effect.scoped(
          NatsEventLog.make({ servers: natsUrl, stream, subjectPrefix: subjects, deleteStreamOnClose: true })
        )
      )
    }
  })

  it("relays stored events through JetStream to the worker, each counted once", async () => {
    const events = Array.from({ length: 25 }, (_, i) => ({
      type: "page_view",
      id: `evt_nats_${suffix}_${i}`,
      site: "demo",
      visitorId: `vis_nats_${suffix}`
    }))
    const post = (body: unknown) =>
      fetch(`${server.url}/v1/events`, {
        method: "POST",
        headers: { authorization: `Bearer ${adminKey}`, "content-type": "application/json" },
        body: JSON.stringify(body)
      })
    assert.strictEqual((await post(events)).status, 200)
    assert.strictEqual((await post(events.slice(0, 5))).status, 200)
    let total = 0
    for (let i = 0; i < 100 && total < 25; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100))
      const stats = (await (
        await fetch(`${server.url}/v1/stats/daily?days=1`, { headers: { authorization: `Bearer ${adminKey}` } })
      ).json()) as { days: Array<{ type: string; events: number; identified: number }> }
      total = stats.days.filter((d) => d.type === "page_view").reduce((n, d) => n + d.events, 0)
    }
    assert.strictEqual(total, 25)
    // Nothing more arrives later: duplicates were never logged, and nothing is applied twice.
    await new Promise((resolve) => setTimeout(resolve, 500))
    const again = (await (
      await fetch(`${server.url}/v1/stats/daily?days=1`, { headers: { authorization: `Bearer ${adminKey}` } })
    ).json()) as { days: Array<{ type: string; events: number }> }
    assert.strictEqual(
      again.days.filter((d) => d.type === "page_view").reduce((n, d) => n + d.events, 0),
      25
    )
  })
})
