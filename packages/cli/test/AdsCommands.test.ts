/**
 * `openaudience campaign …` and `openaudience catalog …` run in this process on memory stores, so that generated
 * input can be thrown at them: any campaign the schema accepts comes back as it was put; any set of broken fields
 * is refused naming each of them, with nothing stored; any feed text is either imported with a report that adds up
 * or refused in one line, never a crash. And `--help` on each new command, without a database.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { UserStore } from "@openaudience/accounts"
import { AdLog, CampaignStore } from "@openaudience/ad-selector"
import { AuditLog } from "@openaudience/audit"
import { CatalogStore } from "@openaudience/catalog"
import { StorageError } from "@openaudience/storage-sql"
import { TenancyStore } from "@openaudience/tenancy"
import { KeyStore } from "@openaudience/vault"
import { afterAll, assert, describe, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as fc from "fast-check"
import { Cli } from "../src/index.js"
import { plain } from "./support/cli.js"

const dir = mkdtempSync(join(tmpdir(), "oa-cli-ads-mem-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

let files = 0
const file = (text: string, extension: string): string => {
  const path = join(dir, `f${files++}.${extension}`)
  writeFileSync(path, text)
  return path
}

/** Runs the command in this process on `stores`, with what it prints captured. */
const runHere = (args: ReadonlyArray<string>, stores: Layer.Layer<Cli.Stores, StorageError>) =>
  Effect.gen(function* () {
    const out: Array<string> = []
    const err: Array<string> = []
    const console = yield* Console.consoleWith(Effect.succeed)
    const exit = yield* Cli.run(["node", "openaudience", ...args], stores).pipe(
      Effect.withConsole({
        ...console,
        log: (...parts) => Effect.sync(() => out.push(parts.join(" "))),
        error: (...parts) => Effect.sync(() => err.push(parts.join(" ")))
      }),
      Effect.exit
    )
    return { exit, stdout: plain(out.join("\n")), stderr: plain(err.join("\n")) }
  })

/** Memory stores shared by every run (each run builds the layer it is given: this one holds built services). */
const memoryStores = () =>
  Effect.map(
    Layer.build(
      Layer.mergeAll(
        TenancyStore.layerMemory,
        KeyStore.layerMemory,
        AuditLog.layerMemory,
        UserStore.layerMemory,
        CampaignStore.layerMemory,
        AdLog.layerMemory,
        CatalogStore.layerMemory
      )
    ),
    (context) => Layer.succeedContext(context) as Layer.Layer<Cli.Stores, StorageError>
  )

const tenant = "ten_d4d4d4d4d4d4d4d4"

/** Memory stores with one tenant and its site on https://shop.example. */
const withTenant = Effect.gen(function* () {
  const stores = yield* memoryStores()
  for (const args of [
    ["tenant", "create", "--name", "Memory", "--id", tenant],
    ["site", "add", "--tenant", tenant, "--site-key", "mem-shop", "--origin", "https://shop.example"]
  ]) {
    const { exit, stderr } = yield* runHere(args, stores)
    assert.isTrue(Exit.isSuccess(exit), stderr)
  }
  return stores
})

const base = {
  id: "cmp-mem",
  name: "Memory",
  status: "active",
  tier: { kind: "remnant" },
  schedule: { start: "2026-01-01T00:00:00.000Z" },
  budget: { daily: { amount: 5000, currency: "EUR" } },
  bid: { amount: 250, currency: "EUR" },
  pacing: "even",
  creatives: [{ id: "cr-1", width: 300, height: 250, kind: "static", landingUrl: "https://shop.example/" }]
}

/** The first creative of a campaign's JSON, to change in place. */
const creative = (c: Record<string, unknown>) => (c.creatives as Array<Record<string, unknown>>)[0]!

/** One broken field each: the path the refusal must name, and how to break it. */
const breakages: ReadonlyArray<readonly [string, (c: Record<string, unknown>) => void]> = [
  ["name", (c) => (c.name = "x".repeat(201))],
  ["status", (c) => (c.status = "running")],
  ["tier.kind", (c) => (c.tier = { kind: "platinum" })],
  ["schedule.start", (c) => (c.schedule = { start: "yesterday" })],
  ["bid.amount", (c) => (c.bid = { amount: -1, currency: "EUR" })],
  ["pacing", (c) => (c.pacing = 3)],
  ["recencyBlockSeconds", (c) => (c.recencyBlockSeconds = 0)],
  ["caps[0].max", (c) => (c.caps = [{ scope: "campaign", window: "day", max: "five" }])],
  ["creatives[0].landingUrl", (c) => (creative(c).landingUrl = "javascript:alert(1)")],
  ["creatives[0].width", (c) => (creative(c).width = 0)],
  ["unexpected", (c) => (c.unexpected = true)]
]

describe("openaudience campaign on memory stores", () => {
  it.scoped("gives back any campaign it accepted, exactly as it was put", () =>
    Effect.gen(function* () {
      const stores = yield* withTenant
      yield* Effect.promise(() =>
        fc.assert(
          fc.asyncProperty(
            fc.record({
              name: fc.string({ unit: "grapheme", maxLength: 60 }),
              status: fc.constantFrom("active", "paused", "ended"),
              amount: fc.integer({ min: 1, max: 1_000_000 }),
              width: fc.integer({ min: 1, max: 4096 })
            }),
            async ({ amount, name, status, width }) => {
              const value = {
                ...base,
                name,
                status,
                bid: { amount, currency: "EUR" },
                creatives: [{ ...base.creatives[0], width }]
              }
              const path = file(JSON.stringify(value), "json")
              const put = await Effect.runPromise(
                runHere(["campaign", "put", "--tenant", tenant, "--file", path, "--json"], stores)
              )
              assert.isTrue(Exit.isSuccess(put.exit), put.stderr)
              const shown = await Effect.runPromise(
                runHere(["campaign", "show", "--tenant", tenant, "--id", base.id, "--json"], stores)
              )
              assert.deepStrictEqual(JSON.parse(shown.stdout), { ...value, tenant })
            }
          ),
          { seed: 14, numRuns: 40 }
        )
      )
    })
  )

  it.scoped("refuses any set of broken fields naming every one of them, and stores nothing", () =>
    Effect.gen(function* () {
      const stores = yield* withTenant
      yield* Effect.promise(() =>
        fc.assert(
          fc.asyncProperty(fc.subarray([...breakages], { minLength: 1 }), async (broken) => {
            const value: Record<string, unknown> = structuredClone({ ...base, id: "cmp-broken" })
            for (const [, breakIt] of broken) breakIt(value)
            const path = file(JSON.stringify(value), "json")
            const run = await Effect.runPromise(
              runHere(["campaign", "put", "--tenant", tenant, "--file", path], stores)
            )
            assert.isTrue(Exit.isFailure(run.exit))
            assert.strictEqual(run.stdout, "")
            assert.strictEqual(run.stderr.split("\n").length, 1, run.stderr)
            for (const [field] of broken) assert.include(run.stderr, field, run.stderr)
            const listed = await Effect.runPromise(runHere(["campaign", "list", "--tenant", tenant, "--json"], stores))
            assert.deepStrictEqual(JSON.parse(listed.stdout), [])
          }),
          { seed: 14, numRuns: 60 }
        )
      )
    })
  )
})

describe("openaudience catalog on memory stores", () => {
  const header = "id,title,link,image_link,price,availability"
  const cell = fc.oneof(
    fc.string({ maxLength: 12 }),
    fc.constantFrom("https://shop.example/p", "https://evil.example/p", "9.99 EUR", "in_stock", '"', ",", "\n", "")
  )
  const line = fc.array(cell, { maxLength: 8 }).map((cells) => cells.join(","))

  it.scoped("imports any feed text with a report that adds up, or refuses it in one line; never a crash", () =>
    Effect.gen(function* () {
      const stores = yield* withTenant
      yield* Effect.promise(() =>
        fc.assert(
          fc.asyncProperty(fc.boolean(), fc.array(line, { maxLength: 8 }), async (withHeader, lines) => {
            const path = file([...(withHeader ? [header] : []), ...lines].join("\n"), "csv")
            const run = await Effect.runPromise(
              runHere(["catalog", "import", "--tenant", tenant, "--file", path, "--json"], stores)
            )
            const listed = await Effect.runPromise(runHere(["catalog", "list", "--tenant", tenant, "--json"], stores))
            const catalog = JSON.parse(listed.stdout) as { total: number; products: ReadonlyArray<{ link: string }> }
            if (Exit.isSuccess(run.exit)) {
              const report = JSON.parse(run.stdout) as { accepted: number; rejected: number; rows: number }
              assert.strictEqual(report.accepted + report.rejected, report.rows)
              assert.strictEqual(catalog.total, report.accepted)
              for (const product of catalog.products) assert.match(product.link, /^https:\/\/shop\.example\//)
            } else {
              assert.isFalse(Exit.isFailure(run.exit) && Cause.isDie(run.exit.cause), run.stderr)
              assert.strictEqual(run.stdout, "")
              assert.match(run.stderr, /^openaudience: invalid --file: [^\n]+$/)
            }
          }),
          { seed: 14, numRuns: 60 }
        )
      )
    })
  )
})

/** A store that cannot be opened: help must not need one. */
const noDatabase = Layer.fail(new StorageError({ reason: "Unavailable", message: "help opened the database" }))

describe("openaudience campaign|catalog --help", () => {
  const cases: ReadonlyArray<readonly [ReadonlyArray<string>, ReadonlyArray<string>]> = [
    [["campaign"], ["list", "show", "put", "delete", "stats"]],
    [
      ["campaign", "list"],
      ["--tenant ID", "--json"]
    ],
    [
      ["campaign", "show"],
      ["--tenant ID", "--id ID"]
    ],
    [
      ["campaign", "put"],
      ["--tenant ID", "--file FILE", "tenant"]
    ],
    [
      ["campaign", "delete"],
      ["--tenant ID", "--id ID"]
    ],
    [
      ["campaign", "stats"],
      ["--tenant ID", "--id ID", "--days N"]
    ],
    [["catalog"], ["import", "list"]],
    [
      ["catalog", "import"],
      ["--tenant ID", "--file FILE", "--format csv|json|tsv"]
    ],
    [
      ["catalog", "list"],
      ["--tenant ID", "--limit N"]
    ]
  ]
  it.effect("prints the usage of each command, with its options, without opening the database", () =>
    Effect.gen(function* () {
      for (const [path, expected] of cases) {
        const { exit, stderr, stdout } = yield* runHere([...path, "--help"], noDatabase)
        const what = `openaudience ${path.join(" ")} --help: ${stderr}`
        assert.isTrue(Exit.isSuccess(exit), what)
        assert.include(stdout, "USAGE", what)
        assert.include(stdout, "DESCRIPTION", what)
        assert.strictEqual(stderr, "", what)
        for (const text of expected) assert.include(stdout, text, what)
      }
    })
  )
})
