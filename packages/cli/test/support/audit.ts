/**
 * `openaudience audit verify|list` on one database: entries appended through `SqlAuditLog` (as the server appends
 * them), the chain verified and listed by the real command, then one row altered directly in SQL, which `verify`
 * must report (exit code 1, naming the entry).
 */
import * as SqlClient from "@effect/sql/SqlClient"
import { assert } from "@effect/vitest"
import { AuditLog } from "@openaudience/audit"
import { Database, SqlAuditLog } from "@openaudience/storage-sql"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { cli, cliJson } from "./cli.js"

/** Runs `effect` with the audit log and the SQL client of `databaseUrl`. */
const onDatabase = <A, E>(
  databaseUrl: string,
  effect: Effect.Effect<A, E, AuditLog.AuditLog | SqlClient.SqlClient>
): Promise<A> =>
  Effect.runPromise(
    effect.pipe(Effect.provide(SqlAuditLog.layer.pipe(Layer.provideMerge(Database.layerFromUrl(databaseUrl)))))
  )

interface EntryJson {
  readonly seq: number
  readonly at: string
  readonly tenant: string | null
  readonly action: string
  readonly target: string
}

/** Runs the scenario on `databaseUrl` (a database of the test's own, with an empty audit log). */
export const auditScenario = async (databaseUrl: string): Promise<void> => {
  const tenant = "ten_00000000000000a1"
  await onDatabase(
    databaseUrl,
    Effect.flatMap(AuditLog.AuditLog, (log) =>
      Effect.forEach(["site.add", "key.create", "key.revoke"], (action, i) =>
        log.append({
          tenant: i === 1 ? "ten_00000000000000b2" : tenant,
          actor: { kind: "key", id: "key_00000000000000c3" },
          action,
          target: `${action}:${i}`,
          outcome: "success"
        })
      )
    )
  )

  const intact = await cliJson(databaseUrl, "audit", "verify")
  assert.deepInclude(intact, { ok: true, entries: 3 })
  assert.strictEqual((intact as { readonly head: { readonly seq: number } }).head.seq, 3)
  const text = await cli(databaseUrl, "audit", "verify")
  assert.strictEqual(text.code, 0, text.stderr)
  assert.include(text.stdout, "intact")

  // Only the tenant's entries, oldest first, with ISO times; paged with --after and --limit.
  const listed = await cliJson<ReadonlyArray<EntryJson>>(databaseUrl, "audit", "list", "--tenant", tenant)
  assert.deepStrictEqual(
    listed.map((entry) => [entry.seq, entry.action, entry.tenant]),
    [
      [1, "site.add", tenant],
      [3, "key.revoke", tenant]
    ]
  )
  assert.match(listed[0]?.at ?? "", /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/)
  const page = await cliJson<ReadonlyArray<EntryJson>>(
    databaseUrl,
    "audit",
    "list",
    "--tenant",
    tenant,
    "--after",
    "1",
    "--limit",
    "1"
  )
  assert.deepStrictEqual(
    page.map((entry) => entry.seq),
    [3]
  )

  // Someone with write access to the database changes entry 2.
  await onDatabase(
    databaseUrl,
    Effect.flatMap(SqlClient.SqlClient, (sql) => sql`UPDATE audit_log SET target = ${"elsewhere"} WHERE seq = ${2}`)
  )
  const broken = await cli(databaseUrl, "audit", "verify", "--json")
  assert.strictEqual(broken.code, 1, broken.stderr)
  assert.deepInclude(JSON.parse(broken.stdout), { ok: false, seq: 2, reason: "HashMismatch" })
  assert.include(broken.stderr, "broken at entry 2")
  const brokenText = await cli(databaseUrl, "audit", "verify")
  assert.strictEqual(brokenText.code, 1)
  assert.include(brokenText.stdout, "BROKEN")
}
