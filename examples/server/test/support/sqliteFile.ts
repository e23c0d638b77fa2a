/**
 * A fresh SQLite database file with the storage and event log tables, for tests of the pieces around the SQLite
 * writer; `use` gets its path (and the connection as `SqlClient`), and the folder is removed afterwards.
 */
import type * as SqlClient from "@effect/sql/SqlClient"
import { Database, EventStore, SqlEventLog } from "@openaudience/storage-sql"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"

export const withSqliteFile = <A, E>(use: (file: string) => Effect.Effect<A, E, Scope.Scope | SqlClient.SqlClient>) =>
  Effect.acquireUseRelease(
    Effect.sync(() => mkdtempSync(join(tmpdir(), "oa-sqlite-"))),
    (dir) =>
      Effect.gen(function* () {
        const file = join(dir, "test.db")
        const database = yield* Layer.build(Database.layerFromUrl(`sqlite:${file}`))
        yield* Effect.provide(Effect.zipRight(EventStore.layer.pipe(Layer.build), SqlEventLog.migrate), database)
        return yield* Effect.provide(use(file), database)
      }).pipe(Effect.scoped),
    (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
  )
