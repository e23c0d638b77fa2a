/**
 * The SQLite writer thread when the database is busy: another connection holding the write lock longer than the
 * writer's busy timeout must never cost an event. The writer waits it out in short sleeps; past its retry budget
 * the whole message fails (to be tried again by its caller), and no line is marked as unstorable.
 */
import { assert, describe, it } from "@effect/vitest"
import type { StoredEvent } from "@openaudience/storage-sql"
import Sqlite from "better-sqlite3"
import * as Effect from "effect/Effect"
import { StoredEvents } from "@openaudience/example-worker"
import * as SqliteWriter from "../src/SqliteWriter.js"
import { withSqliteFile } from "./support/sqliteFile.js"

const event = (id: string): StoredEvent => ({
  tenant: "t",
  eventId: id,
  type: "page_view",
  site: "shop",
  receivedAt: 1_764_000_000_000,
  clientTs: null,
  visitor: `v-${id}`,
  payload: { url: "https://shop.example/" },
  consent: null
})

/** One event's line for the writer (tenant "t" unless given). */
const line = (id: string, tenant = "t"): string => {
  const text = SqliteWriter.eventLine({ ...event(id), tenant })
  if (typeof text !== "string") throw text
  return text
}

/** Hands `n` lines of text to the writer and waits for its answer. */
const send = (writer: SqliteWriter.SqliteWriterShape, text: string, n: number) =>
  Effect.async<SqliteWriter.WriteResult>((resume) => writer.write(text, n, (result) => resume(Effect.succeed(result))))

const write = (writer: SqliteWriter.SqliteWriterShape, ids: ReadonlyArray<string>) =>
  send(writer, ids.map((id) => line(id)).join(""), ids.length)

/** Another connection takes the write lock now and gives it back after `ms`. */
const holdLock = (file: string, ms: number) => {
  const other = new Sqlite(file)
  other.exec("BEGIN IMMEDIATE")
  return new Promise<void>((resolve) =>
    setTimeout(() => {
      other.exec("COMMIT")
      other.close()
      resolve()
    }, ms)
  )
}

const count = (file: string): number => {
  const db = new Sqlite(file, { readonly: true })
  try {
    return (db.prepare("SELECT count(*) AS n FROM events").get() as { n: number }).n
  } finally {
    db.close()
  }
}

describe("SqliteWriter", () => {
  it.scoped("a write lock held past the busy timeout is waited out: every line stored", () =>
    withSqliteFile((file) =>
      Effect.gen(function* () {
        const writer = yield* SqliteWriter.make(file, { busyTimeoutMs: 10, busyRetryMs: 5_000 })
        const released = holdLock(file, 400)
        const result = yield* write(writer, ["a", "b", "c"])
        yield* Effect.promise(() => released)
        assert.isArray(result)
        const seqs = result as ReadonlyArray<number>
        assert.strictEqual(seqs.length, 3)
        for (const seq of seqs) assert.isAbove(seq, 0)
        assert.strictEqual(count(file), 3)
      })
    )
  )

  it.scoped("past the retry budget the message fails whole, no line marked bad; a later try stores them all", () =>
    withSqliteFile((file) =>
      Effect.gen(function* () {
        const writer = yield* SqliteWriter.make(file, { busyTimeoutMs: 10, busyRetryMs: 100 })
        const released = holdLock(file, 1_000)
        const result = yield* write(writer, ["a", "b", "c"])
        assert.isFalse(Array.isArray(result), `expected the message to fail, got ${JSON.stringify(result)}`)
        assert.match((result as { error: string }).error, /locked|busy/i)
        yield* Effect.promise(() => released)
        const retried = yield* write(writer, ["a", "b", "c"])
        assert.deepStrictEqual(
          (retried as ReadonlyArray<number>).map((seq) => seq > 0),
          [true, true, true]
        )
        assert.strictEqual(count(file), 3)
      })
    )
  )

  it.scoped("logs what a transaction stored as StoredEvents.toLogRecords does, one record per tenant", () =>
    withSqliteFile((file) =>
      Effect.gen(function* () {
        const writer = yield* SqliteWriter.make(file)
        // One transaction: two tenants interleaved and a duplicate.
        const first = yield* send(writer, [line("a"), line("b", "u"), line("c"), line("a"), line("d", "u")].join(""), 5)
        assert.deepStrictEqual(
          (first as ReadonlyArray<number>).map((seq) => seq > 0),
          [true, true, true, false, true]
        )
        const db = new Sqlite(file, { readonly: true })
        const stored = db.prepare("SELECT tenant, seq FROM events ORDER BY seq").all() as Array<{
          tenant: string
          seq: number
        }>
        const logged = () =>
          (
            db.prepare("SELECT tenant, partition_key, payload FROM event_log ORDER BY log_offset").all() as Array<{
              tenant: string
              partition_key: string
              payload: string
            }>
          ).map((row) => ({ tenant: row.tenant, key: row.partition_key, payload: JSON.parse(row.payload) }))
        try {
          assert.deepStrictEqual(logged(), StoredEvents.toLogRecords(stored))
          assert.strictEqual(logged().length, 2)
          // A line that cannot be stored: each line then goes in a transaction of its own, each logged alone.
          const second = yield* send(writer, [line("e"), "not an event line\n", line("f", "u")].join(""), 3)
          assert.deepStrictEqual(
            (second as ReadonlyArray<number>).map((seq) => Math.sign(seq)),
            [1, -1, 1]
          )
          const after = db
            .prepare("SELECT tenant, seq FROM events WHERE event_id IN ('e', 'f') ORDER BY seq")
            .all() as Array<{
            tenant: string
            seq: number
          }>
          assert.deepStrictEqual(
            logged().slice(2),
            after.flatMap((e) => StoredEvents.toLogRecords([e]))
          )
        } finally {
          db.close()
        }
      })
    )
  )
})
