/**
 * A process that contends for one SQLite file with others, for the multi-process tests of the ad stores (run with
 * tsx): it opens the store, prints `ready`, waits for a line on stdin (so every contender starts at once), then
 * either charges campaign `c` `count` times 13 millis against a total limit of `limit` (`delivery`) or records
 * `count` impressions of visitor `v` (`caps`), and prints `done <accepted charges>`.
 *
 * Usage: `sqliteContender.ts <delivery|caps> <database url> <count> [limit]`.
 */
import { writeSync } from "node:fs"
import { createInterface } from "node:readline"
import { Budget, Caps } from "@openaudience/ad-selector"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Database from "../src/Database.js"
import * as SqlCapStore from "../src/SqlCapStore.js"
import * as SqlDeliveryStore from "../src/SqlDeliveryStore.js"

const [kind, url, count, limit] = process.argv.slice(2)
if ((kind !== "delivery" && kind !== "caps") || url === undefined || count === undefined) {
  throw new Error("usage: sqliteContender.ts <delivery|caps> <database url> <count> [limit]")
}
const say = (text: string) => writeSync(1, `${text}\n`)
const go = new Promise<void>((resolve) => createInterface({ input: process.stdin }).once("line", () => resolve()))
const now = Date.UTC(2026, 11, 5)

const program = Effect.gen(function* () {
  const delivery = yield* Budget.DeliveryStore
  const caps = yield* Caps.CapStore
  say("ready")
  yield* Effect.promise(() => go)
  let accepted = 0
  for (let i = 0; i < Number(count); i++) {
    if (kind === "delivery") {
      if (yield* delivery.charge("c", 13, { daily: undefined, total: Number(limit) }, now)) accepted++
    } else {
      yield* caps.record("t", "v", ["advertiser", `campaign:${i % 3}`], now + i)
    }
  }
  say(`done ${accepted}`)
})

Effect.runPromise(
  Effect.provide(
    program,
    Layer.merge(SqlDeliveryStore.layer, SqlCapStore.layer).pipe(Layer.provide(Database.layerFromUrl(url)))
  )
).then(
  () => process.exit(0),
  (error) => {
    process.stderr.write(`${String(error)}\n`)
    process.exit(1)
  }
)
