/**
 * The pixel's append log on SQLite: an acknowledged event is readable once `afterStored` calls back, with its
 * event log record, and an id appended twice is stored once; segments left by a stopped server are stored at the
 * next start (a line torn by the crash skipped, events stored already skipped as duplicates) and then removed,
 * while those of a server still running are left alone.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import { StoredEvents } from "@openaudience/example-worker"
import { assert, describe, it } from "@effect/vitest"
import type { StoredEvent } from "@openaudience/storage-sql"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { spawnSync } from "node:child_process"
import { existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import * as AppendLog from "../src/AppendLog.js"
import * as Metrics from "../src/Metrics.js"
import * as SqliteWriter from "../src/SqliteWriter.js"
import { withSqliteFile } from "./support/sqliteFile.js"

const event = (id: string, visitor: string | null = "v1"): StoredEvent => ({
  tenant: "t",
  eventId: id,
  type: "product_view",
  site: "shop",
  receivedAt: 1_764_000_000_000,
  clientTs: null,
  visitor,
  payload: { product: { id: "SKU-1" }, url: "https://shop.example/p/1" },
  consent: { collect: true }
})

const line = (stored: StoredEvent): string => {
  const text = SqliteWriter.eventLine(stored)
  if (typeof text !== "string") throw text
  return text
}

/** The append log with its writer thread on `file`, open for the current scope. */
const appendLog = (file: string, segmentBytes?: number) =>
  Effect.gen(function* () {
    const metrics = Metrics.make()
    const context = yield* Layer.build(
      AppendLog.layerSegments(`${file}-segments`, segmentBytes === undefined ? {} : { segmentBytes }).pipe(
        Layer.provideMerge(SqliteWriter.layer(file)),
        Layer.provide(Layer.succeed(Metrics.Metrics, metrics))
      )
    )
    return { log: yield* Effect.provide(AppendLog.AppendLog, context), metrics }
  })

const append = (log: AppendLog.AppendLogShape, events: ReadonlyArray<StoredEvent>) =>
  Effect.async<string | undefined>((resume) => log.append(events, (failed) => resume(Effect.succeed(failed))))

const afterStored = (log: AppendLog.AppendLogShape) =>
  Effect.async<void>((resume) => log.afterStored(() => resume(Effect.void)))

/** The stored event ids, and the ids the event log's records name (in log order). */
const storedIds = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const rows = yield* sql<{
    readonly seq: number
    readonly event_id: string
  }>`SELECT seq, event_id FROM events ORDER BY seq`
  const idOf = new Map(rows.map((row) => [row.seq, row.event_id]))
  const log = yield* sql<{ readonly tenant: string; readonly payload: string }>`
    SELECT tenant, payload FROM event_log ORDER BY log_offset`
  return {
    events: rows.map((row) => row.event_id),
    log: log.flatMap((row) =>
      StoredEvents.rangesOf({
        offset: 0,
        tenant: row.tenant,
        key: "",
        payload: JSON.parse(row.payload),
        appendedAt: 0
      }).flatMap(([first, last]) =>
        Array.from({ length: last - first + 1 }, (_, i) => idOf.get(first + i) ?? "missing")
      )
    )
  }
})

/** The pid of a process that has exited. */
const deadPid = (): number => {
  const child = spawnSync(process.execPath, ["-e", ""])
  return child.pid!
}

describe("AppendLog on SQLite", () => {
  it.effect("an acknowledged event is in the database once afterStored calls back, each id once", () =>
    withSqliteFile((file) =>
      Effect.gen(function* () {
        const { log, metrics } = yield* appendLog(file)
        assert.isUndefined(yield* append(log, [event("e1"), event("e2", null)]))
        assert.isUndefined(yield* append(log, [event("e1"), event("e3")]))
        yield* afterStored(log)
        assert.strictEqual(log.pending(), 0)
        const stored = yield* storedIds
        assert.deepStrictEqual(stored.events, ["e1", "e2", "e3"])
        assert.deepStrictEqual(stored.log, ["e1", "e2", "e3"])
        const text = metrics.render()
        assert.include(text, 'oa_events_total{type="product_view",outcome="accepted"} 3')
        assert.include(text, 'oa_events_total{type="product_view",outcome="duplicate"} 1')
        assert.include(text, "oa_store_pending_events 0")
      })
    )
  )

  it.effect("a bad event fails its own append and nothing else", () =>
    withSqliteFile((file) =>
      Effect.gen(function* () {
        const { log } = yield* appendLog(file)
        const failed = yield* append(log, [{ ...event("bad"), receivedAt: 1.5 }])
        assert.include(failed, "receivedAt")
        assert.isUndefined(yield* append(log, [event("good")]))
        yield* afterStored(log)
        assert.deepStrictEqual((yield* storedIds).events, ["good"])
      })
    )
  )

  it.effect("segments of a stopped server are stored at start, torn last line skipped, then removed", () =>
    withSqliteFile((file) =>
      Effect.gen(function* () {
        const directory = `${file}-segments`
        // e1 was stored before the crash; e2 and e3 were not; the last line was being written.
        yield* Effect.scoped(
          Effect.gen(function* () {
            const { log } = yield* appendLog(file)
            yield* append(log, [event("e1")])
            yield* afterStored(log)
          })
        )
        const stopped = join(directory, `p${deadPid()}-abc`)
        mkdirSync(stopped, { recursive: true })
        const torn = line(event("e4")).slice(0, 40)
        writeFileSync(join(stopped, "000001.seg"), line(event("e1")) + line(event("e2")))
        writeFileSync(join(stopped, "000002.seg"), line(event("e3")) + torn)
        // A zero-filled segment: the events end at the zeros; e7 lacks its newline, so its write never finished.
        writeFileSync(
          join(stopped, "000003.seg"),
          Buffer.concat([Buffer.from(line(event("e6")) + line(event("e7")).slice(0, -1)), Buffer.alloc(4096)])
        )
        const running = join(directory, `p${process.pid}-zzz`)
        mkdirSync(running)
        writeFileSync(join(running, "000001.seg"), line(event("e5")))

        yield* Effect.scoped(appendLog(file))
        assert.deepStrictEqual((yield* storedIds).events, ["e1", "e2", "e3", "e6"])
        assert.isFalse(existsSync(stopped))
        assert.isTrue(existsSync(join(running, "000001.seg")), "a running server's segments are its own")
        // A clean stop leaves no segment of its own behind.
        assert.deepStrictEqual(readdirSync(directory).sort(), [`p${process.pid}-zzz`])
      })
    )
  )

  it.effect("groups past a segment's zero fill go to the next segment; every event stored, used segments deleted", () =>
    withSqliteFile((file) =>
      Effect.gen(function* () {
        const { log } = yield* appendLog(file, 4096)
        const ids = Array.from({ length: 120 }, (_, n) => `r${String(n).padStart(3, "0")}`)
        // Groups of one to three events, one group per turn of the event loop, about 300 bytes an event.
        for (let n = 0; n < ids.length; ) {
          const size = (n % 3) + 1
          assert.isUndefined(
            yield* append(
              log,
              ids.slice(n, n + size).map((id) => event(id))
            )
          )
          n += size
        }
        yield* afterStored(log)
        assert.deepStrictEqual((yield* storedIds).events, ids)
        // Closed segments go once stored (asynchronously); the current one and a prepared spare may remain.
        const folder = readdirSync(`${file}-segments`).find((name) => name.startsWith(`p${process.pid}-`))!
        const deadline = Date.now() + 5_000
        let left = readdirSync(join(`${file}-segments`, folder))
        while (left.length > 2 && Date.now() < deadline) {
          yield* Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 20)))
          left = readdirSync(join(`${file}-segments`, folder))
        }
        assert.isAtMost(left.length, 2, `segments left: ${left.join(", ")}`)
        // About 36 KB of events in 4 KB segments: they went through several.
        const newest = Math.max(...left.map((name) => Number.parseInt(name, 10)))
        assert.isAtLeast(newest, 3, `segments left: ${left.join(", ")}`)
      })
    )
  )
})
