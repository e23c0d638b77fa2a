/**
 * The one write path on SQLite (a file: writer thread and append log; in memory: group commit alone) and on
 * PostgreSQL (group commit behind an append log): an acknowledged event is in the database once `afterStored` calls
 * back, with its event log record, each id once; `store` answers accepted or duplicate per event; a bad event fails
 * its own call and nothing else; segments left by a stopped process are stored at the next start; and while the
 * database cannot take events (a lock held, a table gone) acknowledged events wait and are stored once it can, with
 * appends refused (retry after) once too many wait.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import { assert, describe, it } from "@effect/vitest"
import { StoredEvents } from "@openaudience/eventlog"
import Sqlite from "better-sqlite3"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import { spawn, spawnSync } from "node:child_process"
import { randomUUID } from "node:crypto"
import { existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { setFlagsFromString } from "node:v8"
import { runInNewContext } from "node:vm"
import { Database, EventStore, EventWriter, SqlEventLog, type StoredEvent } from "../src/index.js"
import { eventLine } from "../src/internal/eventLine.js"
import * as Segments from "../src/internal/segments.js"
import { event as baseEvent, postgresSchemaLayer, postgresUrl, probePostgres, receipt, tempDir } from "./fixtures.js"

const postgres = await probePostgres()

// `gc` for the test that checks what the append log keeps in memory (a context made after the flag has it).
setFlagsFromString("--expose-gc")

const event = (id: string, visitor: string | null = "v1"): StoredEvent =>
  baseEvent("t", id, {
    type: "product_view",
    visitor,
    payload: { productId: "SKU-1", url: "https://shop.example/p/1" },
    consent: receipt()
  })

const line = (stored: StoredEvent): string => {
  const text = eventLine(stored)
  if (typeof text !== "string") throw text
  return text
}

interface Counted {
  readonly outcomes: Map<string, number>
}

/** The write path on the SqlClient's database, its tables created, with an observer counting outcomes. */
const writer = (options: EventWriter.Options) =>
  Effect.gen(function* () {
    const counted: Counted = { outcomes: new Map() }
    const context = yield* Layer.build(
      EventWriter.layer({
        ...options,
        observer: {
          countEvent: (_type, outcome) => counted.outcomes.set(outcome, (counted.outcomes.get(outcome) ?? 0) + 1)
        }
      }).pipe(Layer.provideMerge(EventStore.layer), Layer.provideMerge(SqlEventLog.layer))
    )
    return {
      writer: Effect.runSync(Effect.provide(EventWriter.EventWriter, context)),
      counted,
      store: Effect.runSync(Effect.provide(EventStore.EventStore, context))
    }
  })

const append = (w: EventWriter.EventWriterShape, events: ReadonlyArray<StoredEvent>) =>
  Effect.async<EventWriter.Failure | undefined>((resume) =>
    w.append(events, (failed) => resume(Effect.succeed(failed)))
  )

const store = (w: EventWriter.EventWriterShape, events: ReadonlyArray<StoredEvent>) =>
  Effect.async<EventWriter.StoreResult>((resume) => w.store(events, (result) => resume(Effect.succeed(result))))

const afterStored = (w: EventWriter.EventWriterShape) =>
  Effect.async<void>((resume) => w.afterStored(() => resume(Effect.void)))

/** The stored event ids, and the ids the event log's records name (in log order). */
const storedIds = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const rows = yield* sql<{ readonly seq: number | string; readonly event_id: string }>`
    SELECT seq, event_id FROM events ORDER BY seq`
  const idOf = new Map(rows.map((row) => [Number(row.seq), row.event_id]))
  const log = yield* sql<{ readonly tenant: string; readonly payload: unknown }>`
    SELECT tenant, payload FROM event_log ORDER BY log_offset`
  return {
    events: rows.map((row) => row.event_id),
    log: log.flatMap((row) =>
      StoredEvents.rangesOf({
        offset: 0,
        tenant: row.tenant,
        key: "",
        payload: typeof row.payload === "string" ? JSON.parse(row.payload) : row.payload,
        appendedAt: 0
      }).flatMap(([first, last]) =>
        Array.from({ length: last - first + 1 }, (_, i) => idOf.get(first + i) ?? "missing")
      )
    )
  }
})

/** The pid of a process that has exited. */
const deadPid = (): number => spawnSync(process.execPath, ["-e", ""]).pid!

/** Whether this machine can start a process as PID 1 of a PID namespace of its own (`unshare`, as root). */
const pidNamespaces = (() => {
  const probe = spawnSync("unshare", ["--pid", "--fork", "--mount-proc", "--kill-child=SIGKILL", "true"], {
    encoding: "utf8"
  })
  if (probe.error !== undefined) return { ok: false, reason: `unshare cannot run: ${probe.error.message}` }
  if (probe.status !== 0) return { ok: false, reason: `unshare --pid failed (root needed): ${probe.stderr.trim()}` }
  return { ok: true, reason: "" }
})()

/**
 * Runs test/crashingWriter.ts as PID 1 of a new PID namespace; with `acks` > 0, kills it with SIGKILL once it has
 * acknowledged that many events (`unshare --kill-child` passes the SIGKILL on to the namespace's PID 1).
 */
const runAsPid1 = (args: ReadonlyArray<string>, acks: number) =>
  new Promise<{ readonly pid: string; readonly acks: ReadonlyArray<string>; readonly stderr: string }>(
    (resolve, reject) => {
      const child = spawn(
        "unshare",
        [
          "--pid",
          "--fork",
          "--mount-proc",
          "--kill-child=SIGKILL",
          process.execPath,
          "--import",
          "tsx",
          fileURLToPath(new URL("./crashingWriter.ts", import.meta.url)),
          ...args
        ],
        { cwd: fileURLToPath(new URL("..", import.meta.url)), stdio: ["ignore", "pipe", "pipe"] }
      )
      let pid = ""
      const acked: Array<string> = []
      let stderr = ""
      let rest = ""
      const timer = setTimeout(() => child.kill("SIGKILL"), 60_000)
      child.stderr.on("data", (chunk) => {
        stderr += String(chunk)
      })
      child.stdout.on("data", (chunk) => {
        const lines = (rest + String(chunk)).split("\n")
        rest = lines.pop()!
        for (const text of lines) {
          if (text.startsWith("pid ")) pid = text.slice(4)
          else if (text.startsWith("ack ")) acked.push(text.slice(4))
        }
        if (acks > 0 && acked.length >= acks) child.kill("SIGKILL")
      })
      child.on("error", reject)
      child.on("close", () => {
        clearTimeout(timer)
        resolve({ pid, acks: acked, stderr })
      })
    }
  )

const sleep = (ms: number) => Effect.promise(() => new Promise((resolve) => setTimeout(resolve, ms)))

/** What every shape of the write path does; `open` builds one in the current scope. */
const suite = (
  name: string,
  database: (dir: string) => Layer.Layer<SqlClient.SqlClient, unknown>,
  open: (
    dir: string
  ) => Effect.Effect<
    { writer: EventWriter.EventWriterShape; counted: Counted; store: EventStore.EventStoreService },
    unknown,
    Scope.Scope | SqlClient.SqlClient
  >
) =>
  describe(name, () => {
    const run = <A, E>(use: (dir: string) => Effect.Effect<A, E, Scope.Scope | SqlClient.SqlClient>) =>
      Effect.scoped(Effect.flatMap(tempDir, (dir) => Effect.provide(use(dir), database(dir))))

    it.live("an acknowledged event is in the database once afterStored calls back, each id once", () =>
      run((dir) =>
        Effect.gen(function* () {
          const { writer: w, counted } = yield* open(dir)
          assert.isUndefined(yield* append(w, [event("e1"), event("e2", null)]))
          assert.isUndefined(yield* append(w, [event("e1"), event("e3")]))
          yield* afterStored(w)
          assert.strictEqual(w.pending(), 0)
          const stored = yield* storedIds
          assert.deepStrictEqual(stored.events, ["e1", "e2", "e3"])
          assert.deepStrictEqual(stored.log, ["e1", "e2", "e3"])
          assert.strictEqual(counted.outcomes.get("accepted"), 3)
          assert.strictEqual(counted.outcomes.get("duplicate"), 1)
        })
      )
    )

    it.live("store answers accepted or duplicate per event, after the appends handed over before it", () =>
      run((dir) =>
        Effect.gen(function* () {
          const { writer: w } = yield* open(dir)
          assert.isUndefined(yield* append(w, [event("p1")]))
          const result = yield* store(w, [event("p1"), event("b1"), event("b1"), event("b2")])
          assert.deepStrictEqual(result, {
            _tag: "Stored",
            outcomes: ["duplicate", "accepted", "duplicate", "accepted"]
          })
          const written = yield* w.write([event("b2"), event("b3")])
          assert.deepStrictEqual(written, { outcomes: ["duplicate", "accepted"], accepted: 1, duplicates: 1 })
          assert.deepStrictEqual((yield* storedIds).log, ["p1", "b1", "b2", "b3"])
        })
      )
    )

    it.live("every column round-trips: payload and receipt as JSON, null visitor, client time and receipt", () =>
      run((dir) =>
        Effect.gen(function* () {
          const { writer: w, store } = yield* open(dir)
          const rich: StoredEvent = {
            ...event("rich", null),
            clientTs: 1_764_000_000_123,
            payload: { title: 'Ünïcødé "quoted" \\ tab\t', items: [{ n: 1.5 }, null], nested: { deep: [true] } },
            consent: null
          }
          const plain = { ...event("plain"), site: "shop.example/ä" }
          assert.isUndefined(yield* append(w, [rich, plain]))
          yield* afterStored(w)
          const back = yield* store.recent("t", 10)
          const byId = new Map(back.map((e) => [e.eventId, e]))
          const { seq: _rich, ...richBack } = byId.get("rich")!
          const { seq: _plain, ...plainBack } = byId.get("plain")!
          assert.deepStrictEqual(richBack, rich)
          assert.deepStrictEqual(plainBack, plain)
        })
      )
    )

    it.live("a bad event fails its own call and nothing else", () =>
      run((dir) =>
        Effect.gen(function* () {
          const { writer: w } = yield* open(dir)
          const failed = yield* append(w, [{ ...event("bad"), receivedAt: 1.5 }])
          assert.include(failed?.message, "receivedAt")
          const refused = yield* store(w, [event("ok?"), { ...event("bad2"), tenant: "" }])
          assert.strictEqual(refused._tag, "Failed")
          assert.isUndefined(yield* append(w, [event("good")]))
          yield* afterStored(w)
          assert.deepStrictEqual((yield* storedIds).events, ["good"])
        })
      )
    )
  })

const sqliteFile = (dir: string) => join(dir, "events.db")
const sqliteLayer = (dir: string) => Database.layerFromUrl(`sqlite:${sqliteFile(dir)}`)

suite("EventWriter on a SQLite file (writer thread, append log)", sqliteLayer, (dir) =>
  writer({ writerThread: `sqlite:${sqliteFile(dir)}`, segments: join(dir, "segments") })
)

suite(
  "EventWriter on SQLite in memory (group commit, no append log)",
  () => Database.layerFromUrl("sqlite::memory:"),
  () => writer({})
)

/** A PostgreSQL schema of its own for the writer thread's suite: its URL and its layer (created, then dropped). */
const postgresSchema = (() => {
  const schema = `oa_test_writer_${randomUUID().replaceAll("-", "").slice(0, 12)}`
  const separator = postgresUrl.includes("?") ? "&" : "?"
  const url = `${postgresUrl}${separator}options=${encodeURIComponent(`-c search_path=${schema}`)}`
  const admin = (statement: (sql: SqlClient.SqlClient) => Effect.Effect<unknown, unknown>) =>
    Effect.orDie(
      Effect.flatMap(SqlClient.SqlClient, statement).pipe(Effect.provide(Database.layerFromUrl(postgresUrl)))
    )
  const layer = () =>
    Layer.unwrapScoped(
      Effect.as(
        Effect.acquireRelease(
          admin((sql) => sql`CREATE SCHEMA IF NOT EXISTS ${sql(schema)}`),
          () => admin((sql) => sql`DROP SCHEMA IF EXISTS ${sql(schema)} CASCADE`)
        ),
        Database.layerFromUrl(url)
      )
    )
  return { url, layer }
})()

if (postgres.ok) {
  suite("EventWriter on PostgreSQL (writer thread behind an append log)", postgresSchema.layer, (dir) =>
    writer({ writerThread: postgresSchema.url, segments: join(dir, "segments") })
  )
  suite(
    "EventWriter on PostgreSQL (group commit in process, behind an append log)",
    () => postgresSchemaLayer("oa_test_writer"),
    (dir) => writer({ segments: join(dir, "segments") })
  )
} else if (process.env.CI === "true") {
  describe("EventWriter on PostgreSQL", () => {
    it(`needs PostgreSQL at ${postgresUrl}`, () => {
      assert.fail(`PostgreSQL is required in CI: ${postgres.reason}`)
    })
  })
} else {
  describe.skip(`EventWriter on PostgreSQL (PostgreSQL unreachable at ${postgresUrl}: ${postgres.reason})`, () => {
    it("skipped", () => undefined)
  })
}

describe("EventWriter's append log", () => {
  const inSqliteFile = <A, E>(use: (dir: string) => Effect.Effect<A, E, Scope.Scope | SqlClient.SqlClient>) =>
    Effect.scoped(Effect.flatMap(tempDir, (dir) => Effect.provide(use(dir), sqliteLayer(dir))))

  it.live(
    "writes of the other connections are checkpointed while no events arrive: the WAL does not grow without end",
    () =>
      inSqliteFile((dir) =>
        Effect.gen(function* () {
          yield* writer({ writerThread: `sqlite:${sqliteFile(dir)}`, segments: join(dir, "segments") })
          const sql = yield* SqlClient.SqlClient
          // This connection never checkpoints (EventWriter turns that off on the HTTP thread's connection): as an ad
          // server's decision log does, it writes and writes while no pixel comes.
          yield* sql`CREATE TABLE filler (id INTEGER PRIMARY KEY, text TEXT NOT NULL)`
          const text = "x".repeat(2_000)
          /** 100 rows of 2 kB in one transaction. */
          const fill = (round: number) =>
            sql.withTransaction(
              Effect.forEach(
                Array.from({ length: 100 }, (_, i) => round * 100 + i),
                (id) => sql`INSERT INTO filler (id, text) VALUES (${id}, ${text})`,
                { discard: true }
              )
            )
          for (let round = 0; round < 6; round++) yield* fill(round)
          // About 1.2 MB written; within a few seconds the writer thread's checkpoints copy it into the database file.
          const database = sqliteFile(dir)
          const deadline = Date.now() + 10_000
          while (statSync(database).size < 1_000_000 && Date.now() < deadline) yield* Effect.sleep("200 millis")
          assert.isAtLeast(statSync(database).size, 1_000_000, "the database file holds what was written")
          // And the log starts over instead of growing: more writes after the checkpoint reuse its space.
          const wal = statSync(`${database}-wal`).size
          for (let round = 6; round < 12; round++) {
            yield* fill(round)
            yield* Effect.sleep("400 millis")
          }
          assert.isAtMost(statSync(`${database}-wal`).size, wal + 200_000, "the WAL was reused, not grown")
        })
      )
  )

  it.live("segments of a stopped process are stored at start, torn last line skipped, then removed", () =>
    inSqliteFile((dir) =>
      Effect.gen(function* () {
        const segments = join(dir, "segments")
        const open = writer({ writerThread: `sqlite:${sqliteFile(dir)}`, segments })
        // e1 was stored before the crash; e2 and e3 were not; the last line was being written.
        yield* Effect.scoped(
          Effect.gen(function* () {
            const { writer: w } = yield* open
            yield* append(w, [event("e1")])
            yield* afterStored(w)
          })
        )
        const stopped = join(segments, `p${deadPid()}-abc`)
        mkdirSync(stopped, { recursive: true })
        const torn = line(event("e4")).slice(0, 40)
        writeFileSync(join(stopped, "000001.seg"), line(event("e1")) + line(event("e2")))
        writeFileSync(join(stopped, "000002.seg"), line(event("e3")) + torn)
        // A zero-filled segment: the events end at the zeros; e7 lacks its newline, so its write never finished.
        writeFileSync(
          join(stopped, "000003.seg"),
          Buffer.concat([Buffer.from(line(event("e6")) + line(event("e7")).slice(0, -1)), Buffer.alloc(4096)])
        )
        const runningName = Segments.folderName(Segments.ownIdentity, "zzz")
        const running = join(segments, runningName)
        mkdirSync(running)
        writeFileSync(join(running, "000001.seg"), line(event("e5")))

        yield* Effect.scoped(open)
        assert.deepStrictEqual((yield* storedIds).events, ["e1", "e2", "e3", "e6"])
        assert.isFalse(existsSync(stopped))
        assert.isTrue(existsSync(join(running, "000001.seg")), "a running process's segments are its own")
        // A clean stop leaves no segment of its own behind.
        assert.deepStrictEqual(readdirSync(segments).sort(), [runningName])
      })
    )
  )

  it.live("a folder of this PID left by an earlier process is replayed; live processes' folders are left alone", () =>
    inSqliteFile((dir) =>
      Effect.gen(function* () {
        const own = Segments.ownIdentity
        if (own.start === "") return assert.fail("these cases need /proc (Linux)")
        const segments = join(dir, "segments")
        // A child that keeps running while the writer starts: its folders are its own.
        const child = spawn(process.execPath, ["-e", "setTimeout(() => {}, 60000)"], { stdio: "ignore" })
        yield* Effect.addFinalizer(() => Effect.sync(() => child.kill("SIGKILL")))
        const childIdentity = Segments.identityOf(child.pid!)
        assert.isDefined(childIdentity)
        const otherBoot = own.boot === "0".repeat(32) ? "1".repeat(32) : "0".repeat(32)
        // Left by stopped processes: each is replayed.
        const stopped = {
          // The older naming with this process's PID (e.g. PID 1 in a container, before the restart).
          legacyOwnPid: `p${own.pid}-kq3x9a`,
          // This PID, another start time: an earlier process with the same PID.
          ownPidOtherStart: Segments.folderName({ ...own, start: String(Number(own.start) + 17) }, "a1"),
          // This PID and start time on another boot.
          ownPidOtherBoot: Segments.folderName({ ...own, boot: otherBoot }, "a2"),
          // The running child's PID with another start time: the PID was reused.
          childPidOtherStart: Segments.folderName(
            { ...childIdentity!, start: String(Number(childIdentity!.start) + 3) },
            "a3"
          )
        }
        // Live: left alone.
        const live = {
          own: Segments.folderName(own, "b1"),
          child: Segments.folderName(childIdentity!, "b2"),
          childLegacy: `p${child.pid}-b3`
        }
        for (const [id, name] of [...Object.entries(stopped), ...Object.entries(live)]) {
          mkdirSync(join(segments, name), { recursive: true })
          writeFileSync(join(segments, name, "000001.seg"), line(event(id)))
        }
        yield* Effect.scoped(writer({ writerThread: `sqlite:${sqliteFile(dir)}`, segments }))
        assert.deepStrictEqual([...(yield* storedIds).events].sort(), Object.keys(stopped).sort())
        assert.deepStrictEqual(readdirSync(segments).sort(), Object.values(live).sort())
      })
    )
  )

  if (pidNamespaces.ok || process.env.CI === "true") {
    it.live(
      "killed with SIGKILL as PID 1 of a container, twice: the next start as PID 1 stores every acknowledged event",
      () =>
        Effect.scoped(
          Effect.gen(function* () {
            const dir = yield* tempDir
            // Each crash run holds a lock on the database, so its acknowledged events are only in its segments.
            const first = yield* Effect.promise(() => runAsPid1(["crash", dir, "r1"], 300))
            const second = yield* Effect.promise(() => runAsPid1(["crash", dir, "r2"], 300))
            const check = yield* Effect.promise(() => runAsPid1(["check", dir, "r3"], 0))
            for (const run of [first, second, check]) assert.strictEqual(run.pid, "1", run.stderr)
            assert.isAtLeast(first.acks.length, 300)
            assert.isAtLeast(second.acks.length, 300)
            const db = new Sqlite(sqliteFile(dir), { readonly: true })
            const stored = new Set(
              db
                .prepare("SELECT event_id FROM events")
                .all()
                .map((row) => (row as { readonly event_id: string }).event_id)
            )
            db.close()
            const lost = [...first.acks, ...second.acks].filter((id) => !stored.has(id))
            assert.deepStrictEqual(lost.slice(0, 10), [], `${lost.length} acknowledged event(s) not stored`)
            assert.deepStrictEqual(readdirSync(join(dir, "segments")), [])
          })
        ),
      { timeout: 120_000 }
    )
  } else {
    it.skip(`killed with SIGKILL as PID 1 of a container (skipped: ${pidNamespaces.reason})`, () => undefined)
  }

  it.live("groups past a segment's zero fill go to the next segment; every event stored, used segments deleted", () =>
    inSqliteFile((dir) =>
      Effect.gen(function* () {
        const segments = join(dir, "segments")
        const { writer: w } = yield* writer({ writerThread: `sqlite:${sqliteFile(dir)}`, segments, segmentBytes: 4096 })
        const ids = Array.from({ length: 120 }, (_, n) => `r${String(n).padStart(3, "0")}`)
        // Groups of one to three events, one group per turn of the event loop, a few hundred bytes an event.
        for (let n = 0; n < ids.length; ) {
          const size = (n % 3) + 1
          assert.isUndefined(
            yield* append(
              w,
              ids.slice(n, n + size).map((id) => event(id))
            )
          )
          n += size
        }
        yield* afterStored(w)
        assert.deepStrictEqual((yield* storedIds).events, ids)
        // Closed segments go once stored (asynchronously); the current one and a prepared spare may remain.
        const folder = readdirSync(segments).find((name) => name.startsWith(`p${process.pid}-`))!
        const deadline = Date.now() + 5_000
        let left = readdirSync(join(segments, folder))
        while (left.length > 2 && Date.now() < deadline) {
          yield* sleep(20)
          left = readdirSync(join(segments, folder))
        }
        assert.isAtMost(left.length, 2, `segments left: ${left.join(", ")}`)
        const newest = Math.max(...left.map((name) => Number.parseInt(name, 10)))
        assert.isAtLeast(newest, 3, `segments left: ${left.join(", ")}`)
      })
    )
  )

  it.live("groups of any size are appended whole: small ones, one past the reused buffer, one past what it keeps", () =>
    inSqliteFile((dir) =>
      Effect.gen(function* () {
        const { writer: w, store } = yield* writer({
          writerThread: `sqlite:${sqliteFile(dir)}`,
          segments: join(dir, "segments")
        })
        // About 2 kB an event (a long page URL): 3 events, then 200 (400 kB), then 800 (1.6 MB), then 3 again.
        const big = (id: string) =>
          baseEvent("t", id, {
            type: "product_view",
            visitor: "v1",
            payload: { productId: "SKU-1", url: `https://shop.example/p/${id}?q=${"é".repeat(1_000)}` },
            consent: receipt()
          })
        const sizes = [3, 200, 800, 3]
        const ids: Array<string> = []
        for (const [g, size] of sizes.entries()) {
          const group = Array.from({ length: size }, (_, n) => `g${g}-${String(n).padStart(4, "0")}`)
          ids.push(...group)
          assert.isUndefined(yield* append(w, group.map(big)))
        }
        yield* afterStored(w)
        assert.deepStrictEqual((yield* storedIds).events, ids)
        const last = yield* store.recent("t", 1)
        const url = (event: { readonly payload: unknown }) => (event.payload as { readonly url: string }).url
        assert.strictEqual(url(last[0]!), url(big(ids[ids.length - 1]!)))
      })
    )
  )

  it.live(
    "while SQLite is locked acknowledged events wait, past the limit appends are refused, then all are stored",
    () =>
      inSqliteFile((dir) =>
        Effect.gen(function* () {
          const file = sqliteFile(dir)
          const { writer: w } = yield* writer({
            writerThread: `sqlite:${file}`,
            segments: join(dir, "segments"),
            maxPendingEvents: 5
          })
          const other = new Sqlite(file)
          other.pragma("busy_timeout = 100")
          other.exec("BEGIN IMMEDIATE")
          try {
            assert.isUndefined(yield* append(w, [event("o1"), event("o2"), event("o3")]))
            assert.isUndefined(yield* append(w, [event("o4"), event("o5")]))
            const refused = yield* append(w, [event("o6")])
            assert.isDefined(refused)
            assert.isAbove(refused!.retryAfterSeconds ?? 0, 0)
            assert.strictEqual(w.pending(), 5)
          } finally {
            // Held past the writer's retries (5 s): the events stay in their segment and are tried again.
            yield* sleep(6_000)
            other.exec("COMMIT")
            other.close()
          }
          yield* afterStored(w)
          assert.deepStrictEqual((yield* storedIds).events, ["o1", "o2", "o3", "o4", "o5"])
          assert.isUndefined(yield* append(w, [event("o6")]))
        })
      ),
    { timeout: 30_000 }
  )

  it.live(
    "acknowledged events waiting for the database are not kept in memory: the writer thread reads them back",
    () =>
      inSqliteFile((dir) =>
        Effect.gen(function* () {
          const file = sqliteFile(dir)
          const { writer: w } = yield* writer({ writerThread: `sqlite:${file}`, segments: join(dir, "segments") })
          const gc = runInNewContext("gc") as () => void
          // The database is locked, so the events wait (each group up to 300 ms for company, then the writer's
          // retries) for as long as the test holds the lock: they are not stored while it looks.
          const other = new Sqlite(file)
          other.pragma("busy_timeout = 100")
          other.exec("BEGIN IMMEDIATE")
          const ids = Array.from({ length: 40 }, (_, n) => `m${String(n).padStart(2, "0")}`)
          const refs: Array<WeakRef<StoredEvent>> = []
          try {
            // Made in a function of their own, so that no variable of this test refers to them.
            const appendGroup = (from: number) =>
              Effect.suspend(() => {
                const group = ids.slice(from, from + 8).map((id) => event(id))
                for (const one of group) refs.push(new WeakRef(one))
                return append(w, group)
              })
            for (let n = 0; n < ids.length; n += 8) assert.isUndefined(yield* appendGroup(n))
            assert.strictEqual(w.pending(), ids.length, "acknowledged, not stored")
            // Collected once nothing but the append log could hold them (a few turns for the groups' callbacks).
            let kept = refs.length
            for (let attempt = 0; attempt < 20 && kept > 0; attempt++) {
              yield* sleep(10)
              gc()
              kept = refs.filter((ref) => ref.deref() !== undefined).length
            }
            assert.strictEqual(kept, 0, `${kept} of ${refs.length} acknowledged events still in memory`)
            assert.strictEqual(w.pending(), ids.length, "still waiting for the database")
          } finally {
            other.exec("COMMIT")
            other.close()
          }
          yield* afterStored(w)
          assert.deepStrictEqual((yield* storedIds).events, ids)
        })
      ),
    { timeout: 30_000 }
  )

  if (postgres.ok) {
    it.live(
      "on PostgreSQL, events acknowledged while the events table is away are stored once it is back",
      () =>
        Effect.scoped(
          Effect.flatMap(tempDir, (dir) =>
            Effect.provide(
              Effect.gen(function* () {
                const sql = yield* SqlClient.SqlClient
                const { writer: w } = yield* writer({ segments: join(dir, "segments") })
                yield* sql`ALTER TABLE events RENAME TO events_away`
                assert.isUndefined(yield* append(w, [event("g1"), event("g2")]))
                const refused = yield* store(w, [event("g3")])
                assert.strictEqual(refused._tag, "Failed")
                yield* sleep(1_500)
                assert.strictEqual(w.pending(), 2)
                yield* sql`ALTER TABLE events_away RENAME TO events`
                yield* afterStored(w)
                assert.deepStrictEqual((yield* storedIds).log, ["g1", "g2"])
              }),
              postgresSchemaLayer("oa_test_outage")
            )
          )
        ),
      { timeout: 30_000 }
    )
  }
})
