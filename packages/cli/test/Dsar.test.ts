/**
 * `openaudience dsar …` on SQLite through the real command: a visitor's events, seeded through storage-sql's
 * `EventStore`, are in `dsar export` (JSON on stdout or in a file, or a ZIP); `dsar erase` removes them from every
 * registered store (counted again through `SqlSubjectStores.stores`), leaves another visitor's, and prints a signed
 * report that `dsar report --verify` accepts and rejects once altered; `dsar status` lists the requests. A legal hold
 * defers an erasure (exit code 3) and a store out of reach leaves it in progress (exit code 4) until
 * `dsar erase --request ID` completes it. And `--help` on each command, without a database.
 */
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as SqlClient from "@effect/sql/SqlClient"
import { afterAll, assert, describe, it } from "@effect/vitest"
import { Hold, Subject } from "@openaudience/dsar"
import { Database, EventStore, SqlDsarStore, SqlSubjectStores, StorageError } from "@openaudience/storage-sql"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import { Cli } from "../src/index.js"
import * as Progress from "../src/internal/progress.js"
import { cliJsonWith, cliWith, plain, type Run } from "./support/cli.js"

const dir = mkdtempSync(join(tmpdir(), "oa-cli-dsar-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const secret = "d5".repeat(32)

/** A database of the test's own, with a tenant. */
const setup = async (name: string) => {
  const databaseUrl = `sqlite:${join(dir, `${name}.db`)}`
  const env = { OA_DATABASE_URL: databaseUrl, OA_DATA_DIR: dir, OA_SECRET: secret }
  const tenant = `ten_${name.padEnd(16, "0").slice(0, 16)}`
  await cliJsonWith(env, "tenant", "create", "--name", name, "--id", tenant)
  const onDatabase = <A, E>(effect: Effect.Effect<A, E, SqlClient.SqlClient>): Promise<A> =>
    Effect.runPromise(Effect.provide(effect, Database.layerFromUrl(databaseUrl)) as Effect.Effect<A, E>)
  return { env, tenant, onDatabase }
}

/** Stores `count` events of `visitor` through the event store. */
const seedEvents = (tenant: string, visitor: string, count: number) =>
  Effect.gen(function* () {
    const store = yield* EventStore.make
    yield* store.append(
      Array.from({ length: count }, (_, i) => ({
        tenant,
        eventId: `${visitor}-e${i}`,
        type: "page_view",
        site: "shop.example",
        receivedAt: Date.UTC(2026, 11, 1) + i,
        clientTs: null,
        visitor,
        payload: { url: `https://shop.example/${visitor}/${i}` },
        consent: null
      }))
    )
  }).pipe(Effect.provide(EventStore.layer))

/** The rows every registered store holds about the visitor. */
const rowsOf = (tenant: string, visitor: string) =>
  Effect.gen(function* () {
    const stores = yield* SqlSubjectStores.stores
    const subject = new Subject.Visitor({ tenant, visitor })
    const counts = yield* Effect.forEach(stores, (store) => store.count(subject))
    return counts.reduce((sum, n) => sum + n, 0)
  })

interface SignedJson {
  readonly report: {
    readonly requestId: string
    readonly tenant: string
    readonly subjects: ReadonlyArray<string>
    readonly stores: ReadonlyArray<{ readonly name: string; readonly erased: number; readonly remaining: number }>
  }
  readonly signature: { readonly kid: string; readonly value: string }
}

interface RequestJson {
  readonly id: string
  readonly type: string
  readonly status: string
  readonly subjects: number
  readonly receivedAt: string
  readonly dueAt: string
}

describe("openaudience dsar on SQLite", () => {
  it("exports a visitor's events, erases them from every store with a signed report that verifies, and lists the requests", async () => {
    const { env, onDatabase, tenant } = await setup("alice")
    await onDatabase(Effect.zipRight(seedEvents(tenant, "v-alice", 3), seedEvents(tenant, "v-bob", 2)))

    // To a file (mode 0600), as JSON holding the visitor's events only.
    const out = join(dir, "alice-export.json")
    const zip = join(dir, "alice-export.zip")
    // Three child processes at a time, so that a loaded machine keeps each under its limit.
    const [exported, onStdout, zipped] = await Promise.all([
      cliJsonWith<{ id: string; records: number; out: string; status: string }>(
        env,
        ...["dsar", "export", "--tenant", tenant, "--visitor", "v-alice", "--out", out]
      ),
      cliWith(env, "dsar", "export", "--tenant", tenant, "--visitor", "v-alice"),
      cliJsonWith<{ records: number }>(
        env,
        ...["dsar", "export", "--tenant", tenant, "--visitor", "v-alice", "--format", "zip", "--out", zip]
      )
    ])
    assert.match(exported.id, /^dsr_[0-9a-f]{32}$/)
    assert.deepInclude(exported, { records: 3, out, status: "completed" })
    assert.strictEqual(statSync(out).mode & 0o777, 0o600)
    const document = JSON.parse(readFileSync(out, "utf8"))
    assert.deepStrictEqual(
      document.stores.events.map((event: { fields: { eventId: string } }) => event.fields.eventId),
      ["v-alice-e0", "v-alice-e1", "v-alice-e2"]
    )
    assert.notInclude(readFileSync(out, "utf8"), "v-bob")

    // On stdout without --out: the document alone (the summary on stderr); a ZIP of CSV files.
    assert.strictEqual(onStdout.code, 0, onStdout.stderr)
    assert.strictEqual(JSON.parse(onStdout.stdout).stores.events.length, 3)
    assert.include(onStdout.stderr, "Exported 3 records")
    assert.strictEqual(zipped.records, 3)
    assert.strictEqual(readFileSync(zip).subarray(0, 2).toString("latin1"), "PK")

    // The erasure: the signed report on stdout, no progress line on a pipe, nothing of alice left anywhere.
    assert.strictEqual(await onDatabase(rowsOf(tenant, "v-alice")), 3)
    const erased = await cliWith(env, "dsar", "erase", "--tenant", tenant, "--visitor", "v-alice")
    assert.strictEqual(erased.code, 0, erased.stderr)
    assert.notInclude(erased.stderr, "\r")
    assert.include(erased.stderr, "Erased 3 rows")
    const signed = JSON.parse(erased.stdout) as SignedJson
    assert.strictEqual(signed.report.tenant, tenant)
    assert.deepInclude(
      signed.report.stores.find((store) => store.name === "events"),
      { erased: 3, remaining: 0 }
    )
    assert.notInclude(erased.stdout, "v-alice")
    assert.strictEqual(await onDatabase(rowsOf(tenant, "v-alice")), 0)
    assert.strictEqual(await onDatabase(rowsOf(tenant, "v-bob")), 2)
    // The collector of a running server gives the browser a new pseudonym: the tombstone is recorded.
    const tombstones = await onDatabase(
      Effect.flatMap(SqlClient.SqlClient, (sql) => sql<{ n: number }>`SELECT COUNT(*) AS n FROM erased_visitors`)
    )
    assert.strictEqual(Number(tombstones[0]?.n), 1)

    // The report verifies, from the database and from the file; an altered file does not.
    const file = join(dir, "alice-report.json")
    writeFileSync(file, erased.stdout)
    const altered = join(dir, "alice-report-altered.json")
    writeFileSync(altered, erased.stdout.replace('"erased": 3', '"erased": 0'))
    const [fromDb, fromFile, rejected] = await Promise.all([
      cliWith(env, "dsar", "report", "--tenant", tenant, "--id", signed.report.requestId, "--verify"),
      cliJsonWith<{ valid: boolean; report: SignedJson }>(
        env,
        ...["dsar", "report", "--tenant", tenant, "--file", file, "--verify"]
      ),
      cliWith(env, "dsar", "report", "--tenant", tenant, "--file", altered, "--verify")
    ])
    assert.strictEqual(fromDb.code, 0, fromDb.stderr)
    assert.include(fromDb.stdout, `valid (key ${signed.signature.kid})`)
    assert.strictEqual(fromFile.valid, true)
    assert.deepStrictEqual(fromFile.report, signed)
    assert.strictEqual(rejected.code, 1)
    assert.include(rejected.stdout, "INVALID")
    assert.include(rejected.stderr, "signature is invalid")
    // Another server's secret does not verify it either (a fresh database: the secret check passes); the stored
    // report is the one printed; nothing of alice is left to export.
    const [otherKey, stored, after] = await Promise.all([
      cliWith(
        { ...env, OA_DATABASE_URL: `sqlite:${join(dir, "other.db")}`, OA_SECRET: "e6".repeat(32) },
        ...["dsar", "report", "--tenant", tenant, "--file", file, "--verify", "--json"]
      ),
      cliJsonWith<SignedJson>(env, "dsar", "report", "--tenant", tenant, "--id", signed.report.requestId),
      cliJsonWith<{ records: number }>(
        env,
        ...["dsar", "export", "--tenant", tenant, "--visitor", "v-alice", "--out", join(dir, "after.json")]
      )
    ])
    assert.strictEqual(otherKey.code, 1, otherKey.stderr)
    assert.strictEqual(JSON.parse(otherKey.stdout).valid, false)
    assert.deepStrictEqual(stored, signed)
    assert.strictEqual(after.records, 0)

    // Every request listed, completed, with its subject count only; one shown with its history.
    const [listed, open, one] = await Promise.all([
      cliJsonWith<ReadonlyArray<RequestJson>>(env, "dsar", "status", "--tenant", tenant),
      cliJsonWith<ReadonlyArray<RequestJson>>(env, "dsar", "status", "--tenant", tenant, "--status", "in-progress"),
      cliJsonWith<RequestJson & { history: ReadonlyArray<{ action: string; actor: string }> }>(
        env,
        ...["dsar", "status", "--tenant", tenant, "--id", signed.report.requestId]
      )
    ])
    assert.deepStrictEqual(listed.map((request) => [request.type, request.status, request.subjects]).sort(), [
      ["access", "completed", 1],
      ["access", "completed", 1],
      ["access", "completed", 1],
      ["access", "completed", 1],
      ["erasure", "completed", 1]
    ])
    assert.includeMembers(
      listed.map((request) => request.id),
      [exported.id, signed.report.requestId]
    )
    assert.deepStrictEqual(open, [])
    assert.deepStrictEqual(
      one.history.map((step) => step.action),
      ["receive", "acknowledge", "start", "complete"]
    )
    // Audited as the operator, never with the visitor's pseudonym.
    const [table, audit] = await Promise.all([
      cliWith(env, "dsar", "status", "--tenant", tenant),
      cliWith(env, "audit", "list", "--tenant", tenant, "--json")
    ])
    assert.include(table.stdout, "SUBJECTS")
    assert.include(table.stdout, signed.report.requestId)
    assert.notInclude(table.stdout, "v-alice")
    const entries = JSON.parse(audit.stdout) as ReadonlyArray<{ action: string; actor: unknown }>
    assert.includeMembers(
      entries.map((entry) => entry.action),
      ["dsar.submit", "dsar.access", "dsar.erase"]
    )
    for (const entry of entries) assert.deepStrictEqual(entry.actor, { kind: "operator", id: "cli" })
    assert.notInclude(audit.stdout, "v-alice")
  }, 600_000)

  it("exits 3 when a legal hold defers an erasure, 4 when a store is out of reach, and completes it with --request", async () => {
    const { env, onDatabase, tenant } = await setup("carol")
    await onDatabase(seedEvents(tenant, "v-carol", 2))
    await onDatabase(
      Effect.flatMap(SqlDsarStore.make, (store) =>
        store.holds.add(
          new Hold.Hold({
            id: "hold_court1",
            tenant,
            subject: new Subject.Visitor({ tenant, visitor: "v-carol" }),
            reason: "litigation",
            reference: "case 42/2026",
            createdAt: Date.now(),
            createdBy: "operator"
          })
        )
      ).pipe(Effect.provide(Layer.effectDiscard(SqlDsarStore.migrate)))
    )

    const held = await cliWith(env, "dsar", "erase", "--tenant", tenant, "--visitor", "v-carol", "--json")
    assert.strictEqual(held.code, 3, held.stderr)
    assert.include(held.stderr, "hold_court1")
    assert.include(held.stderr, "case 42/2026")
    const heldJson = JSON.parse(held.stdout) as { id: string; status: string; report: unknown }
    assert.deepInclude(heldJson, { status: "in-progress", report: null })
    assert.strictEqual(await onDatabase(rowsOf(tenant, "v-carol")), 2)

    // The hold is released; then one store cannot be read (its column renamed): nothing is erased, exit code 4.
    await onDatabase(
      Effect.flatMap(SqlDsarStore.make, (store) => store.holds.release(tenant, "hold_court1", Date.now(), "operator"))
    )
    await onDatabase(
      Effect.flatMap(SqlClient.SqlClient, (sql) => sql`ALTER TABLE ad_caps RENAME COLUMN visitor TO visitor_away`)
    )
    const unreachable = await cliWith(env, "dsar", "erase", "--tenant", tenant, "--request", heldJson.id)
    assert.strictEqual(unreachable.code, 4, unreachable.stderr)
    assert.strictEqual(unreachable.stdout, "")
    assert.include(unreachable.stderr, "ad-caps")
    assert.include(unreachable.stderr, "retried by the server")
    assert.include(unreachable.stderr, `dsar erase --tenant ${tenant} --request ${heldJson.id}`)
    const events = await onDatabase(
      Effect.flatMap(SqlClient.SqlClient, (sql) => sql<{ n: number }>`SELECT COUNT(*) AS n FROM events`)
    )
    assert.strictEqual(Number(events[0]?.n), 2)
    const status = await cliJsonWith<RequestJson>(env, "dsar", "status", "--tenant", tenant, "--id", heldJson.id)
    assert.strictEqual(status.status, "in-progress")

    // The store is back: --request completes the same request.
    await onDatabase(
      Effect.flatMap(SqlClient.SqlClient, (sql) => sql`ALTER TABLE ad_caps RENAME COLUMN visitor_away TO visitor`)
    )
    const done = await cliJsonWith<{ id: string; status: string; report: SignedJson }>(
      env,
      ...["dsar", "erase", "--tenant", tenant, "--request", heldJson.id]
    )
    assert.deepInclude(done, { id: heldJson.id, status: "completed" })
    assert.strictEqual(done.report.report.requestId, heldJson.id)
    assert.strictEqual(await onDatabase(rowsOf(tenant, "v-carol")), 0)
    const verified = await cliJsonWith<{ valid: boolean }>(
      env,
      ...["dsar", "report", "--tenant", tenant, "--id", heldJson.id, "--verify"]
    )
    assert.strictEqual(verified.valid, true)
  }, 300_000)

  it("refuses what it cannot do with exit code 1, naming the option, and nothing on stdout", async () => {
    const { env, tenant } = await setup("dave")
    const cases: ReadonlyArray<readonly [ReadonlyArray<string>, string]> = [
      [["dsar", "erase", "--tenant", tenant], "--visitor"],
      [["dsar", "export", "--tenant", tenant], "--visitor"],
      [["dsar", "export", "--tenant", tenant, "--visitor", "v", "--format", "zip"], "--out"],
      [["dsar", "erase", "--tenant", "ten_0000000000000404", "--visitor", "v"], "not found"],
      [["dsar", "erase", "--tenant", tenant, "--visitor", "v", "--request", "dsr_1"], "--request"],
      [["dsar", "erase", "--tenant", tenant, "--request", "dsr_00000000000000000000000000000000"], "not found"],
      [["dsar", "report", "--tenant", tenant], "--id"],
      [["dsar", "report", "--tenant", tenant, "--id", "dsr_00000000000000000000000000000000"], "not found"],
      [["dsar", "status", "--tenant", tenant, "--status", "lost"], "--status"]
    ]
    const runs: Array<Run> = []
    // Three child processes at a time, so that a loaded machine keeps each under its limit.
    for (let i = 0; i < cases.length; i += 3) {
      runs.push(...(await Promise.all(cases.slice(i, i + 3).map(([args]) => cliWith(env, ...args, "--json")))))
    }
    runs.forEach((run, i) => {
      const [args, expected] = cases[i]!
      const what = `openaudience ${args.join(" ")}: ${run.stderr}`
      assert.strictEqual(run.code, 1, what)
      assert.strictEqual(run.stdout, "", what)
      assert.include(run.stderr, expected, what)
    })
  }, 300_000)
})

/** A database that cannot be opened: help must not need one. */
const noDatabase = Layer.fail(new StorageError({ reason: "Unavailable", message: "help opened the database" }))

describe("openaudience dsar --help", () => {
  it.effect("prints the usage of each dsar command without opening the database", () =>
    Effect.gen(function* () {
      for (const path of [["dsar"], ["dsar", "export"], ["dsar", "erase"], ["dsar", "status"], ["dsar", "report"]]) {
        const out: Array<string> = []
        const console = yield* Console.consoleWith(Effect.succeed)
        const exit = yield* Cli.run(["node", "openaudience", ...path, "--help"], noDatabase, noDatabase).pipe(
          Effect.withConsole({ ...console, log: (...parts) => Effect.sync(() => out.push(parts.join(" "))) }),
          Effect.exit
        )
        const stdout = plain(out.join("\n"))
        assert.isTrue(Exit.isSuccess(exit), path.join(" "))
        assert.include(stdout, "USAGE")
        assert.include(stdout, `$ ${path.at(-1)}`)
      }
    })
  )
})

describe("dsar progress", () => {
  it("counts the stores done in each phase of an erasure, then clears its line", () => {
    const lines: Array<string> = []
    const tracker = Progress.make("erasing", 2, 2, (text) => lines.push(text))
    for (const operation of ["count", "count", "count", "count", "erase", "erase", "erase", "erase"] as const) {
      tracker.step(operation)
    }
    for (const _ of [1, 2, 3, 4]) tracker.step("count")
    tracker.end()
    assert.deepStrictEqual(
      lines.map((line) => line.replace(/\x1b\[K/g, "")),
      [
        "\rerasing: checking 0/2 stores",
        "\rerasing: checking 1/2 stores",
        "\rerasing: checking 1/2 stores",
        "\rerasing: checking 2/2 stores",
        "\rerasing: erasing 0/2 stores",
        "\rerasing: erasing 1/2 stores",
        "\rerasing: erasing 1/2 stores",
        "\rerasing: erasing 2/2 stores",
        "\rerasing: verifying 0/2 stores",
        "\rerasing: verifying 1/2 stores",
        "\rerasing: verifying 1/2 stores",
        "\rerasing: verifying 2/2 stores",
        "\r"
      ]
    )
  })
})
