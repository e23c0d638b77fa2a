import { existsSync } from "node:fs"
import { join } from "node:path"
import * as SqlClient from "@effect/sql/SqlClient"
import { assert, describe, it } from "@effect/vitest"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Fiber from "effect/Fiber"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import { Database, EventStore, Migrations } from "../src/index.js"
import * as Driver from "../src/internal/driver.js"
import { event, receipt, tempDir } from "./fixtures.js"

describe("Database.parseUrl", () => {
  it("accepts sqlite paths, in-memory sqlite and postgres URLs", () => {
    const file = Database.parseUrl("sqlite:./data/openaudience.db")
    assert.deepStrictEqual(
      Either.map(file, (u) => u._tag === "Sqlite" && u.filename),
      Either.right("./data/openaudience.db")
    )
    const abs = Database.parseUrl("sqlite:///var/lib/oa.db")
    assert.deepStrictEqual(
      Either.map(abs, (u) => u._tag === "Sqlite" && u.filename),
      Either.right("/var/lib/oa.db")
    )
    const memory = Database.parseUrl("sqlite::memory:")
    assert.deepStrictEqual(
      Either.map(memory, (u) => u._tag === "Sqlite" && u.filename),
      Either.right(":memory:")
    )
    for (const url of ["postgres://u:secret@db:5432/oa", "postgresql://u:secret@db/oa?sslmode=require"]) {
      const parsed = Database.parseUrl(url)
      assert.isTrue(Either.isRight(parsed))
      if (Either.isRight(parsed)) {
        assert.strictEqual(parsed.right._tag, "Postgres")
        assert.notInclude(parsed.right.display, "secret")
        assert.include(parsed.right.display, "u@db")
      }
    }
  })

  it("rejects bad URLs with InvalidConfig and a message that says what to write", () => {
    const cases: ReadonlyArray<readonly [string, RegExp]> = [
      ["", /empty/],
      ["   ", /empty/],
      ["sqlite:", /names no file/],
      ["mysql://root@localhost/db", /Unsupported database URL scheme "mysql:"/],
      ["./data/oa.db", /no scheme.*sqlite:\.\/data\/oa\.db/],
      ["postgres://u:p@[bad/db", /malformed/]
    ]
    for (const [url, pattern] of cases) {
      const parsed = Database.parseUrl(url)
      assert.isTrue(Either.isLeft(parsed), url)
      if (Either.isLeft(parsed)) {
        assert.strictEqual(parsed.left.reason, "InvalidConfig")
        assert.match(parsed.left.message, pattern)
        assert.include(parsed.left.message, "sqlite:<path>")
      }
    }
  })
})

describe("Database.layerFromUrl", () => {
  it.effect("a bad URL fails the layer with a typed StorageError", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(Effect.provide(SqlClient.SqlClient, Database.layerFromUrl("oracle://x/y")))
      assert.strictEqual(error._tag, "StorageError")
      assert.strictEqual(error.reason, "InvalidConfig")
    })
  )

  it.live("an unreachable PostgreSQL fails with Unavailable and never shows the password", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(
        Effect.provide(SqlClient.SqlClient, Database.layerFromUrl("postgres://oa:hunter2@127.0.0.1:1/oa"))
      )
      assert.strictEqual(error.reason, "Unavailable")
      assert.include(error.message, "127.0.0.1:1/oa")
      assert.notInclude(error.message, "hunter2")
    })
  )

  describe("a driver that is not installed", () => {
    // What Node's import() rejects with when a package is absent from node_modules.
    const notInstalled = (name: string) => () =>
      Promise.reject(
        Object.assign(new Error(`Cannot find package '${name}' imported from /app/node_modules/x/Database.js`), {
          code: "ERR_MODULE_NOT_FOUND"
        })
      )
    const open = (url: string, imports: Partial<Driver.DriverImports>) =>
      Effect.gen(function* () {
        const drivers = yield* Driver.Drivers
        return yield* Effect.flip(
          Effect.provide(SqlClient.SqlClient, Database.layerFromUrl(url)).pipe(
            Effect.provideService(Driver.Drivers, { ...drivers, ...imports })
          )
        )
      })

    it.effect("fails a postgres:// URL with InvalidConfig naming @effect/sql-pg, and never loads it for SQLite", () =>
      Effect.gen(function* () {
        const error = yield* open("postgres://oa:hunter2@db/oa", { pg: notInstalled("@effect/sql-pg") })
        assert.strictEqual(error._tag, "StorageError")
        assert.strictEqual(error.reason, "InvalidConfig")
        assert.include(error.message, "npm install @effect/sql-pg")
        assert.include(error.message, "optional peer dependency of @openaudience/storage-sql")
        assert.notInclude(error.message, "hunter2")
        // Without the PostgreSQL driver, SQLite still opens.
        const rows = yield* Effect.gen(function* () {
          const sql = yield* SqlClient.SqlClient
          return yield* sql<{ one: number }>`SELECT 1 AS one`
        }).pipe(
          Effect.provide(Database.layerFromUrl("sqlite::memory:")),
          Effect.provideService(Driver.Drivers, {
            sqlite: () => import("@effect/sql-sqlite-node/SqliteClient"),
            pg: notInstalled("@effect/sql-pg")
          }),
          Effect.scoped
        )
        assert.deepStrictEqual(rows, [{ one: 1 }])
      })
    )

    it.effect("fails a sqlite: URL with InvalidConfig naming @effect/sql-sqlite-node", () =>
      Effect.gen(function* () {
        const error = yield* open("sqlite::memory:", { sqlite: notInstalled("@effect/sql-sqlite-node") })
        assert.strictEqual(error.reason, "InvalidConfig")
        assert.include(error.message, "npm install @effect/sql-sqlite-node")
        assert.include(error.message, "sqlite: URLs only")
      })
    )

    it.effect("a driver that is installed but fails to load is reported as such, not as missing", () =>
      Effect.gen(function* () {
        const error = yield* open("sqlite::memory:", {
          sqlite: () => Promise.reject(new Error("The module was compiled against a different Node.js version"))
        })
        assert.strictEqual(error.reason, "InvalidConfig")
        assert.match(error.message, /Cannot load the SQLite driver @effect\/sql-sqlite-node: The module was compiled/)
        assert.notInclude(error.message, "npm install")
      })
    )

    it.effect("recognizes the error of a real import() of a missing package, by its exact name", () =>
      Effect.gen(function* () {
        const absent = "@effect/sql-pg-not-installed"
        const error = yield* Effect.flip(Effect.tryPromise(() => import(/* @vite-ignore */ absent)))
        assert.isTrue(Driver.isNotInstalled(error.cause, absent))
        assert.isFalse(Driver.isNotInstalled(error.cause, "@effect/sql-pg"))
        assert.isFalse(Driver.isNotInstalled(new Error("Cannot find module 'pg'"), "@effect/sql-pg"))
      })
    )
  })

  it.scoped("opens SQLite in WAL mode with synchronous=FULL and a busy timeout, creating the directory", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir
      const file = join(dir, "nested", "deeper", "oa.db")
      const pragmas = yield* Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        const [journal] = yield* sql<{ journal_mode: string }>`PRAGMA journal_mode`
        const [sync] = yield* sql<{ synchronous: number }>`PRAGMA synchronous`
        const [busy] = yield* sql<{ timeout: number }>`PRAGMA busy_timeout`
        return { journal: journal?.journal_mode, sync: sync?.synchronous, busy: busy?.timeout }
      }).pipe(Effect.provide(Database.layerFromUrl(`sqlite:${file}`)))
      assert.deepStrictEqual(pragmas, { journal: "wal", sync: 2, busy: Database.sqliteBusyTimeoutMs })
      assert.isTrue(existsSync(file))
    })
  )

  it.scoped("events survive closing and reopening the SQLite file, and migrations run once", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir
      const url = `sqlite:${join(dir, "durable.db")}`
      const stack = () => EventStore.layer.pipe(Layer.provideMerge(Database.layerFromUrl(url)))
      yield* Effect.gen(function* () {
        const store = yield* EventStore.EventStore
        const result = yield* store.append([
          event("t", "a", { visitor: "v", payload: { kept: true } }),
          event("t", "b", { consent: receipt() })
        ])
        assert.strictEqual(result.accepted, 2)
      }).pipe(Effect.provide(stack()))
      // The first layer is closed now: its connection is gone. Open the file again.
      const reopened = yield* Effect.gen(function* () {
        const store = yield* EventStore.EventStore
        const sql = yield* SqlClient.SqlClient
        const again = yield* Migrations.migrate
        const applied = yield* sql<{ id: number }>`SELECT id FROM ${sql(Migrations.table)}`
        const retry = yield* store.append([event("t", "a")])
        return { recent: yield* store.recent("t", 10), again, applied, retry }
      }).pipe(Effect.provide(stack()))
      assert.deepStrictEqual(
        reopened.recent.map((e) => [e.eventId, e.payload, e.consent]),
        [
          ["b", { url: "/", n: 1 }, receipt()],
          ["a", { kept: true }, null]
        ]
      )
      assert.deepStrictEqual(reopened.again, [])
      // Every migration recorded once (on SQLite too, where the PostgreSQL-only ones do nothing).
      assert.deepStrictEqual(
        reopened.applied.map((r) => r.id).sort((a, b) => a - b),
        Migrations.migrations.map((m) => m.id)
      )
      assert.deepStrictEqual(reopened.retry.outcomes, ["duplicate"])
    })
  )

  it.effect("layerConfig reads OA_DATABASE_URL, and defaults to a SQLite file in OA_DATA_DIR", () =>
    Effect.gen(function* () {
      const fromUrl = yield* Database.urlConfig.pipe(
        Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["OA_DATABASE_URL", "sqlite::memory:"]])))
      )
      assert.strictEqual(Redacted.value(fromUrl), "sqlite::memory:")
      const fromDir = yield* Database.urlConfig.pipe(
        Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["OA_DATA_DIR", "/srv/oa/"]])))
      )
      assert.strictEqual(Redacted.value(fromDir), "sqlite:/srv/oa/openaudience.db")
      const fallback = yield* Database.urlConfig.pipe(Effect.withConfigProvider(ConfigProvider.fromMap(new Map())))
      assert.strictEqual(Redacted.value(fallback), "sqlite:./data/openaudience.db")
      const count = yield* Effect.gen(function* () {
        const store = yield* EventStore.EventStore
        yield* store.append([event("t", "x")])
        return yield* store.count("t")
      }).pipe(
        Effect.provide(EventStore.layer.pipe(Layer.provide(Database.layerConfig))),
        Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["OA_DATABASE_URL", "sqlite::memory:"]])))
      )
      assert.strictEqual(count, 1)
    })
  )
})

describe("SQLite beside another connection", () => {
  it.scoped("a transaction that read before another connection wrote is retried from the start, not failed", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir
      const url = `sqlite:${join(dir, "shared.db")}`
      const open = Effect.map(Layer.build(Database.layerFromUrl(url)), (context) =>
        Context.get(context, SqlClient.SqlClient)
      )
      const a = yield* open
      const b = yield* open
      yield* a`CREATE TABLE t (n INTEGER NOT NULL)`
      yield* a`INSERT INTO t (n) VALUES (0)`
      // The other connection writes from a fiber of its own (a statement inside `b`'s transaction would borrow
      // `b`'s connection), while the transaction holds its read snapshot, on the first attempt only.
      const read = yield* Deferred.make<void>()
      const written = yield* Deferred.make<void>()
      yield* Effect.fork(
        Deferred.await(read).pipe(
          Effect.zipRight(a`INSERT INTO t (n) VALUES (1)`),
          Effect.zipRight(Deferred.succeed(written, undefined))
        )
      )
      let attempts = 0
      const seen = yield* b.withTransaction(
        Effect.gen(function* () {
          attempts++
          const rows = yield* b<{ n: number }>`SELECT COUNT(*) AS n FROM t`
          if (attempts === 1) {
            yield* Deferred.succeed(read, undefined)
            yield* Deferred.await(written)
          }
          yield* b`INSERT INTO t (n) VALUES (2)`
          return rows[0]!.n
        })
      )
      assert.strictEqual(attempts, 2, "the first attempt hit SQLITE_BUSY_SNAPSHOT and was retried")
      assert.strictEqual(seen, 2, "the retry read the other connection's row")
      const all = yield* a<{ n: number }>`SELECT n FROM t ORDER BY n`
      assert.deepStrictEqual(
        all.map((r) => r.n),
        [0, 1, 2]
      )
      assert.isTrue(Database.isSqliteBusy({ cause: { code: "SQLITE_BUSY_SNAPSHOT" } }))
      assert.isTrue(Database.isSqliteBusy(new Error("Committing: database is locked")))
      assert.isFalse(Database.isSqliteBusy(new Error("UNIQUE constraint failed")))
    })
  )

  it.scoped("a transaction that meets another connection's write lock waits and goes through (under a TestClock)", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir
      const url = `sqlite:${join(dir, "locked.db")}`
      const open = Effect.map(Layer.build(Database.layerFromUrl(url)), (context) =>
        Context.get(context, SqlClient.SqlClient)
      )
      const a = yield* open
      const b = yield* open
      yield* a`CREATE TABLE t (n INTEGER NOT NULL)`
      const locked = yield* Deferred.make<void>()
      // `a` holds the write lock for 100 ms of wall-clock time while `b` reads and then wants to write.
      const holder = yield* Effect.fork(
        a.withTransaction(
          Effect.gen(function* () {
            yield* a`INSERT INTO t (n) VALUES (1)`
            yield* Deferred.succeed(locked, undefined)
            yield* Effect.sleep("100 millis").pipe(Effect.withClock(Clock.make()))
          })
        )
      )
      yield* Deferred.await(locked)
      let attempts = 0
      yield* b.withTransaction(
        Effect.gen(function* () {
          attempts++
          yield* b`SELECT COUNT(*) AS n FROM t`
          yield* b`INSERT INTO t (n) VALUES (2)`
        })
      )
      yield* Fiber.join(holder)
      assert.isAbove(attempts, 1, "the first attempt met the lock (SQLITE_BUSY at once) and was retried")
      const all = yield* a<{ n: number }>`SELECT n FROM t ORDER BY n`
      assert.deepStrictEqual(
        all.map((r) => r.n),
        [1, 2]
      )
    })
  )
})
