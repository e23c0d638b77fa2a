/**
 * Test fixtures: event builders, and database layers for SQLite (temp file) and PostgreSQL (a schema
 * of its own with a random name, dropped afterwards).
 */
import { randomUUID } from "node:crypto"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as SqlClient from "@effect/sql/SqlClient"
import type { ConsentReceipt } from "@openaudience/event-schema"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { Database, type StorageError, type StoredEvent } from "../src/index.js"

/** A fresh name, so tests sharing one database never see each other's rows. */
export const unique = (prefix: string): string => `${prefix}-${randomUUID().slice(0, 8)}`

/** A small valid event. */
export const event = (tenant: string, eventId: string, overrides: Partial<StoredEvent> = {}): StoredEvent => ({
  tenant,
  eventId,
  type: "page_view",
  site: "shop.example",
  receivedAt: 1_700_000_000_000,
  clientTs: null,
  visitor: null,
  payload: { url: "/", n: 1 },
  consent: null,
  ...overrides
})

/** A complete consent receipt, as the collector stores it (personalization allowed unless told otherwise). */
export const receipt = (personalization = true): ConsentReceipt.ConsentReceipt => ({
  v: 1,
  policy: "2026-11-29.1",
  model: "opt-out",
  jurisdiction: "US-CA",
  signals: { gpc: false, dnt: false, optout: false, coppa: false, tcf: false, gpp: true, usp: false, gppSid: [7] },
  decision: {
    collect: true,
    identifier: personalization,
    personalization,
    measurement: true,
    child: false,
    reasons: personalization ? [] : ["gpp:sale-opt-out"]
  }
})

/** A temporary directory removed when the scope closes. */
export const tempDir: Effect.Effect<string, never, import("effect/Scope").Scope> = Effect.acquireRelease(
  Effect.sync(() => mkdtempSync(join(tmpdir(), "oa-storage-"))),
  (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
)

/** An SqlClient on a new SQLite file in a temporary directory. */
export const sqliteLayer: Layer.Layer<SqlClient.SqlClient, StorageError> = Layer.unwrapScoped(
  Effect.map(tempDir, (dir) => Database.layerFromUrl(`sqlite:${join(dir, "db", "test.db")}`))
)

/** The PostgreSQL server the integration tests use. */
export const postgresUrl = process.env.OA_TEST_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test"

/** Whether PostgreSQL answers, or why not. */
export const probePostgres = (): Promise<{ readonly ok: true } | { readonly ok: false; readonly reason: string }> =>
  Effect.runPromise(
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      yield* sql`SELECT 1`
    }).pipe(
      Effect.provide(Database.layerFromUrl(postgresUrl)),
      Effect.as({ ok: true as const }),
      Effect.catchAll((error) => Effect.succeed({ ok: false as const, reason: error.message }))
    )
  )

/**
 * An SqlClient on PostgreSQL whose connections use a schema of their own (`search_path` set through
 * the URL's `options` parameter), created with a random name and dropped when the layer is released.
 */
export const postgresSchemaLayer = (prefix: string): Layer.Layer<SqlClient.SqlClient, StorageError> =>
  Layer.unwrapScoped(
    Effect.gen(function* () {
      const schema = `${prefix}_${randomUUID().replaceAll("-", "").slice(0, 12)}`
      const admin = (statement: (sql: SqlClient.SqlClient) => Effect.Effect<unknown, unknown>) =>
        Effect.flatMap(SqlClient.SqlClient, statement).pipe(Effect.provide(Database.layerFromUrl(postgresUrl)))
      yield* Effect.acquireRelease(Effect.orDie(admin((sql) => sql`CREATE SCHEMA ${sql(schema)}`)), () =>
        Effect.orDie(admin((sql) => sql`DROP SCHEMA ${sql(schema)} CASCADE`))
      )
      const separator = postgresUrl.includes("?") ? "&" : "?"
      return Database.layerFromUrl(
        `${postgresUrl}${separator}options=${encodeURIComponent(`-c search_path=${schema}`)}`
      )
    })
  )
