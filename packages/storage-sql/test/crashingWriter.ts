/**
 * A process for the crash test of the append log (run with tsx, as PID 1 of a PID namespace of its own): it opens
 * the event write path on a SQLite file, which replays the segments a stopped process left, then prints its PID
 * (`pid <n>`) and either stops cleanly (`check`) or, with the database locked by a second connection so nothing
 * reaches it, appends events for ever and prints `ack <id>` for each acknowledged one (`crash`), until killed.
 *
 * Usage: `crashingWriter.ts <crash|check> <directory> <run name>`.
 */
import Sqlite from "better-sqlite3"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { writeSync } from "node:fs"
import { join } from "node:path"
import { Database, EventStore, EventWriter, SqlEventLog } from "../src/index.js"
import { event, receipt } from "./fixtures.js"

const [mode, directory, run] = process.argv.slice(2)
if ((mode !== "crash" && mode !== "check") || directory === undefined || run === undefined) {
  throw new Error("usage: crashingWriter.ts <crash|check> <directory> <run name>")
}
const file = join(directory, "events.db")
const say = (text: string) => writeSync(1, `${text}\n`)

const program = Effect.gen(function* () {
  const writer = yield* EventWriter.EventWriter
  say(`pid ${process.pid}`)
  if (mode === "check") return
  const lock = new Sqlite(file)
  lock.pragma("busy_timeout = 100")
  lock.exec("BEGIN IMMEDIATE")
  let n = 0
  // One group of one to three events per turn of the event loop, each acknowledgement printed as it comes.
  yield* Effect.async<never>(() => {
    const next = () => {
      const ids = Array.from({ length: (n % 3) + 1 }, () => `${run}-${String(n++).padStart(5, "0")}`)
      writer.append(
        ids.map((id) =>
          event("t", id, { type: "product_view", visitor: "v1", payload: { productId: "SKU-1" }, consent: receipt() })
        ),
        (failed) => {
          if (failed === undefined) for (const id of ids) say(`ack ${id}`)
          setImmediate(next)
        }
      )
    }
    next()
  })
})

const layer = EventWriter.layer({ writerThread: `sqlite:${file}`, segments: join(directory, "segments") }).pipe(
  Layer.provideMerge(EventStore.layer),
  Layer.provideMerge(SqlEventLog.layer),
  Layer.provide(Database.layerFromUrl(`sqlite:${file}`))
)

Effect.runPromise(Effect.provide(program, layer)).then(
  () => process.exit(0),
  (error) => {
    process.stderr.write(`${String(error)}\n`)
    process.exit(1)
  }
)
