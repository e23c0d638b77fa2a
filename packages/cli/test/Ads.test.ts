/**
 * `openaudience campaign …` and `openaudience catalog …` on SQLite through the real command in a child process:
 * campaigns created, replaced, listed, shown, deleted and their statistics read from the ad log the server writes;
 * broken campaign files refused naming every field, with nothing stored; feeds with rejected rows imported with
 * their report; unknown tenants; and two tenants that never see each other's campaigns or products.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { AdLog } from "@openaudience/ad-selector"
import { Database, SqlAdLog } from "@openaudience/storage-sql"
import * as Effect from "effect/Effect"
import { cli, cliJson } from "./support/cli.js"

const dir = mkdtempSync(join(tmpdir(), "oa-cli-ads-"))
const databaseUrl = `sqlite:${join(dir, "openaudience.db")}`
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const alpha = "ten_a1a1a1a1a1a1a1a1"
const beta = "ten_b2b2b2b2b2b2b2b2"

/** Writes `text` to a file of the test's folder and returns its path. */
const file = (name: string, text: string): string => {
  const path = join(dir, name)
  writeFileSync(path, text)
  return path
}

/** A campaign file's JSON (no `tenant`), as the admin API's body. */
const campaign = (id: string, overrides: Record<string, unknown> = {}) => ({
  id,
  name: "Trail boots you viewed",
  status: "active",
  tier: { kind: "remnant" },
  schedule: { start: "2026-01-01T00:00:00.000Z" },
  budget: { daily: { amount: 5000, currency: "EUR" } },
  bid: { amount: 250, currency: "EUR" },
  caps: [{ scope: "campaign", window: "day", max: 5 }],
  pacing: "even",
  creatives: [{ id: "cr-300", width: 300, height: 250, kind: "static", landingUrl: "https://alpha.example/" }],
  ...overrides
})

const campaignFile = (name: string, value: unknown) => file(name, JSON.stringify(value))

interface CampaignJson {
  readonly id: string
  readonly tenant: string
  readonly name: string
}

/** Expects a refusal: exit code 1, nothing on stdout, one stderr line holding every `expected` text. */
const refused = async (args: ReadonlyArray<string>, expected: ReadonlyArray<string>) => {
  const run = await cli(databaseUrl, ...args)
  const what = `openaudience ${args.join(" ")}: ${run.stderr}`
  assert.strictEqual(run.code, 1, what)
  assert.strictEqual(run.stdout, "", what)
  for (const text of expected) assert.include(run.stderr, text, what)
  assert.strictEqual(run.stderr.trim().split("\n").length, 1, what)
}

/**
 * Runs `tasks` three at a time: each is a child process, and a loaded machine (the whole suite at once) must not
 * push one past its 60-second limit.
 */
const fewAtATime = async (tasks: ReadonlyArray<() => Promise<void>>): Promise<void> => {
  for (let i = 0; i < tasks.length; i += 3) await Promise.all(tasks.slice(i, i + 3).map((task) => task()))
}

beforeAll(async () => {
  for (const [id, origin] of [
    [alpha, "https://alpha.example"],
    [beta, "https://beta.example"]
  ] as const) {
    await cliJson(databaseUrl, "tenant", "create", "--name", id, "--id", id)
    await cliJson(databaseUrl, "site", "add", "--tenant", id, "--site-key", `site-${id}`, "--origin", origin)
  }
}, 120_000)

describe("openaudience campaign on SQLite", () => {
  it("creates, lists, shows, replaces and deletes a campaign, each change in the audit log", async () => {
    const created = await cliJson<CampaignJson>(
      databaseUrl,
      ...["campaign", "put", "--tenant", alpha, "--file", campaignFile("c1.json", campaign("cmp-life"))]
    )
    assert.deepStrictEqual(created, { ...campaign("cmp-life"), tenant: alpha } as unknown as CampaignJson)
    const listed = await cliJson<ReadonlyArray<CampaignJson>>(databaseUrl, "campaign", "list", "--tenant", alpha)
    assert.deepStrictEqual(
      listed.map((c) => [c.id, c.tenant]),
      [["cmp-life", alpha]]
    )

    const replaced = await cliJson<CampaignJson>(
      databaseUrl,
      ...[
        "campaign",
        "put",
        "--tenant",
        alpha,
        "--file",
        campaignFile("c2.json", campaign("cmp-life", { name: "Renamed" }))
      ]
    )
    assert.strictEqual(replaced.name, "Renamed")
    const shown = await cliJson<CampaignJson>(databaseUrl, "campaign", "show", "--tenant", alpha, "--id", "cmp-life")
    assert.strictEqual(shown.name, "Renamed")
    const text = await cli(databaseUrl, "campaign", "show", "--tenant", alpha, "--id", "cmp-life")
    assert.strictEqual(text.code, 0, text.stderr)
    assert.include(text.stdout, "Renamed")
    assert.include(text.stdout, "cr-300")

    const deleted = await cliJson(databaseUrl, "campaign", "delete", "--tenant", alpha, "--id", "cmp-life")
    assert.deepStrictEqual(deleted, { id: "cmp-life", tenant: alpha, deleted: true })
    assert.deepStrictEqual(await cliJson(databaseUrl, "campaign", "list", "--tenant", alpha), [])
    await refused(["campaign", "show", "--tenant", alpha, "--id", "cmp-life"], ["not found", "cmp-life"])
    await refused(["campaign", "delete", "--tenant", alpha, "--id", "cmp-life"], ["not found", "cmp-life"])

    const audit = await cliJson<ReadonlyArray<{ action: string; target: string; outcome: string }>>(
      databaseUrl,
      ...["audit", "list", "--tenant", alpha]
    )
    assert.deepStrictEqual(
      audit.filter((entry) => entry.target === "campaign:cmp-life").map((entry) => [entry.action, entry.outcome]),
      [
        ["campaign.create", "success"],
        ["campaign.update", "success"],
        ["campaign.delete", "success"],
        ["campaign.delete", "failed"]
      ]
    )
  }, 300_000)

  it("refuses a broken campaign file naming every field, with exit code 1, and stores nothing", async () => {
    const cases: ReadonlyArray<readonly [unknown, ReadonlyArray<string>]> = [
      [campaign("cmp-bad", { bid: { amount: 2.5, currency: "EUR" } }), ["bid.amount", "2.5"]],
      [
        campaign("cmp-bad", { tier: { kind: "gold" }, caps: [{ scope: "campaign", window: "fortnight", max: 1 }] }),
        ["tier.kind", "gold", "caps[0].window", "fortnight"]
      ],
      [campaign("cmp-bad", { creatives: [] }), ["creatives"]],
      [campaign("cmp-bad", { name: undefined, pacing: "fast" }), ["name", "is missing", "pacing", "fast"]],
      [campaign("cmp-bad", { budget: { daily: { amount: 5000, currency: "USD" } } }), ["budget.daily is in USD"]],
      [campaign("cmp-bad", { tenant: beta }), ["tenant", "leave it out"]],
      [campaign("cmp-bad", { extra: 1 }), ["extra"]],
      [[campaign("cmp-bad")], ["a JSON object"]],
      ["not json", ["not JSON"]]
    ]
    await fewAtATime([
      ...cases.map(([value, expected], i) => () => {
        const path = typeof value === "string" ? file(`bad${i}.json`, value) : campaignFile(`bad${i}.json`, value)
        return refused(
          ["campaign", "put", "--tenant", alpha, "--file", path, "--json"],
          ["invalid --file", ...expected]
        )
      }),
      () =>
        refused(
          ["campaign", "put", "--tenant", alpha, "--file", join(dir, "missing.json")],
          ["invalid --file", "missing.json", "ENOENT"]
        ),
      () =>
        refused(
          ["campaign", "put", "--tenant", alpha, "--file", file("huge.json", " ".repeat(256 * 1024 + 1))],
          ["invalid --file", "larger than"]
        )
    ])
    assert.deepStrictEqual(await cliJson(databaseUrl, "campaign", "list", "--tenant", alpha), [])
  }, 300_000)

  it("reads a campaign's statistics from the ad log, in the admin API's shape", async () => {
    const id = "cmp-stats"
    await cliJson(databaseUrl, "campaign", "put", "--tenant", alpha, "--file", campaignFile("s.json", campaign(id)))
    // What the server records while serving: three decisions, two rendered impressions (one viewable), one click.
    const now = Date.now()
    await Effect.runPromise(
      Effect.gen(function* () {
        const log = yield* AdLog.AdLog
        for (const n of [1, 2, 3]) {
          yield* log.recordDecision({
            id: `dec-${n}`,
            tenant: alpha,
            campaignId: id,
            creativeId: "cr-300",
            productIds: [],
            publisher: "pub",
            slot: "top",
            visitor: null,
            personalized: false,
            propensity: 0.5,
            costMillis: 250_000,
            currency: "EUR",
            at: now
          })
        }
        yield* log.recordImpression("dec-1", "rendered", now)
        yield* log.recordImpression("dec-2", "rendered", now)
        yield* log.recordImpression("dec-1", "viewable", now)
        yield* log.recordClick("dec-1", now)
      }).pipe(Effect.provide(SqlAdLog.layer), Effect.provide(Database.layerFromUrl(databaseUrl)))
    )
    const stats = await cliJson<{
      readonly total: Record<string, number | null>
      readonly days: ReadonlyArray<{ readonly day: string }>
    }>(databaseUrl, ...["campaign", "stats", "--tenant", alpha, "--id", id, "--days", "2"])
    assert.strictEqual(stats.days.length, 2)
    assert.deepInclude(stats.total, { impressions: 2, viewable: 1, clicks: 1, ctr: 0.5 })
    const text = await cli(databaseUrl, "campaign", "stats", "--tenant", alpha, "--id", id)
    assert.strictEqual(text.code, 0, text.stderr)
    assert.strictEqual(text.stdout.trim().split("\n").length, 1 + 7 + 1, text.stdout)
    assert.include(text.stdout, "50.00%")

    await Promise.all([
      refused(["campaign", "stats", "--tenant", alpha, "--id", id, "--days", "0"], ["invalid --days"]),
      refused(["campaign", "stats", "--tenant", alpha, "--id", id, "--days", "367"], ["invalid --days"]),
      refused(["campaign", "stats", "--tenant", alpha, "--id", "cmp-none"], ["not found", "cmp-none"]),
      // Another tenant does not see these statistics, even knowing the id.
      refused(["campaign", "stats", "--tenant", beta, "--id", id], ["not found", id])
    ])
  }, 300_000)
})

/** The counts of an import's report. */
type Report = Readonly<Record<"accepted" | "rejected" | "rows", number>>

const feedHeader = "id,title,link,image_link,price,availability"

describe("openaudience catalog on SQLite", () => {
  it("imports a feed's valid rows, reports each rejected row with its reasons, and lists the catalog", async () => {
    const feed = file(
      "feed.csv",
      [
        feedHeader,
        "sku-1,Boots,https://alpha.example/boots,https://alpha.example/boots.jpg,49.90 EUR,in_stock",
        "sku-2,Hat,https://elsewhere.example/hat,https://alpha.example/hat.jpg,10.00 EUR,in_stock",
        "sku-3,Scarf,https://alpha.example/scarf,https://alpha.example/scarf.jpg,lots,sold",
        "sku-4,Gloves,https://alpha.example/gloves,https://alpha.example/gloves.jpg,12.00 EUR,preorder"
      ].join("\n")
    )
    const report = await cliJson<{
      readonly accepted: number
      readonly rejected: number
      readonly rows: number
      readonly rejections: ReadonlyArray<{
        readonly row: number
        readonly line: number
        readonly id: string
        readonly reasons: ReadonlyArray<{ readonly column: string; readonly message: string }>
      }>
    }>(databaseUrl, "catalog", "import", "--tenant", alpha, "--file", feed)
    assert.deepInclude(report, { accepted: 2, rejected: 2, rows: 4 })
    assert.deepStrictEqual(
      report.rejections.map((r) => [r.row, r.line, r.id, r.reasons.map((reason) => reason.column).sort()]),
      [
        [2, 3, "sku-2", ["link"]],
        [3, 4, "sku-3", ["availability", "price"]]
      ]
    )
    assert.include(report.rejections[0]?.reasons[0]?.message ?? "", "elsewhere.example")

    const text = await cli(databaseUrl, "catalog", "import", "--tenant", alpha, "--file", feed)
    assert.strictEqual(text.code, 0, text.stderr)
    assert.include(text.stdout, "2 products of 4 rows")
    assert.match(text.stdout, /^3\s+4\s+sku-3\s+.*price/m)

    const listed = await cliJson<{ total: number; products: ReadonlyArray<{ id: string; price: unknown }> }>(
      databaseUrl,
      ...["catalog", "list", "--tenant", alpha]
    )
    assert.strictEqual(listed.total, 2)
    assert.deepStrictEqual(
      listed.products.map((p) => [p.id, p.price]),
      [
        ["sku-1", { amount: 4990, currency: "EUR" }],
        ["sku-4", { amount: 1200, currency: "EUR" }]
      ]
    )
    const first = await cliJson<{ total: number; products: ReadonlyArray<{ id: string }> }>(
      databaseUrl,
      ...["catalog", "list", "--tenant", alpha, "--limit", "1"]
    )
    assert.deepStrictEqual([first.total, first.products.map((p) => p.id)], [2, ["sku-1"]])
    await refused(["catalog", "list", "--tenant", alpha, "--limit", "0"], ["invalid --limit"])

    // A JSON feed, and a TSV feed named .txt with --format: each replaces the whole catalog.
    const json = file(
      "feed.json",
      JSON.stringify([
        {
          id: "sku-9",
          title: "Tent",
          link: "https://alpha.example/tent",
          image_link: "https://alpha.example/tent.jpg",
          price: "199.00 EUR",
          availability: "in_stock"
        }
      ])
    )
    assert.deepInclude(await cliJson<Report>(databaseUrl, "catalog", "import", "--tenant", alpha, "--file", json), {
      accepted: 1,
      rejected: 0
    })
    const tsv = file(
      "feed.txt",
      `${feedHeader.replaceAll(",", "\t")}\nsku-7\tLamp\thttps://alpha.example/lamp\thttps://alpha.example/lamp.jpg\t20.00 EUR\tin_stock`
    )
    await Promise.all([
      refused(["catalog", "import", "--tenant", alpha, "--file", tsv], ["invalid --format", "feed.txt"]),
      refused(["catalog", "import", "--tenant", alpha, "--file", tsv, "--format", "csv"], ["invalid --file"]),
      refused(["catalog", "import", "--tenant", alpha, "--file", tsv, "--format", "xml"], ["--format", "xml"])
    ])
    assert.deepInclude(
      await cliJson<Report>(databaseUrl, "catalog", "import", "--tenant", alpha, "--file", tsv, "--format", "tsv"),
      { accepted: 1 }
    )
    const after = await cliJson<{ total: number; products: ReadonlyArray<{ id: string }> }>(
      databaseUrl,
      ...["catalog", "list", "--tenant", alpha]
    )
    assert.deepStrictEqual(
      after.products.map((p) => p.id),
      ["sku-7"]
    )
  }, 300_000)

  it("refuses a tenant without a site: product links have nowhere to point", async () => {
    await cliJson(databaseUrl, "tenant", "create", "--name", "Siteless", "--id", "ten_c3c3c3c3c3c3c3c3")
    const feed = file(
      "siteless.csv",
      `${feedHeader}\nsku-1,Boots,https://a.example/b,https://a.example/b.jpg,1 EUR,in_stock`
    )
    await refused(["catalog", "import", "--tenant", "ten_c3c3c3c3c3c3c3c3", "--file", feed], ["add one", "site"])
  }, 120_000)
})

describe("openaudience campaign and catalog across tenants", () => {
  it("refuses an unknown tenant on every command, naming it", async () => {
    const nobody = "ten_0000000000000000"
    const good = campaignFile("nobody.json", campaign("cmp-nobody"))
    const feed = file(
      "nobody.csv",
      `${feedHeader}\nsku-1,Boots,https://a.example/b,https://a.example/b.jpg,1 EUR,in_stock`
    )
    const commands: ReadonlyArray<ReadonlyArray<string>> = [
      ["campaign", "list", "--tenant", nobody],
      ["campaign", "show", "--tenant", nobody, "--id", "cmp-nobody"],
      ["campaign", "put", "--tenant", nobody, "--file", good],
      ["campaign", "delete", "--tenant", nobody, "--id", "cmp-nobody"],
      ["campaign", "stats", "--tenant", nobody, "--id", "cmp-nobody"],
      ["catalog", "import", "--tenant", nobody, "--file", feed],
      ["catalog", "list", "--tenant", nobody]
    ]
    await fewAtATime(commands.map((args) => () => refused([...args, "--json"], ["not found", nobody])))
  }, 300_000)

  it("keeps each tenant's campaigns and catalog to itself", async () => {
    const id = "cmp-iso"
    await cliJson(databaseUrl, "campaign", "put", "--tenant", alpha, "--file", campaignFile("iso.json", campaign(id)))
    // Ids are unique across tenants: another tenant can neither see, take, replace nor delete the campaign.
    assert.deepStrictEqual(await cliJson(databaseUrl, "campaign", "list", "--tenant", beta), [])
    await refused(["campaign", "show", "--tenant", beta, "--id", id], ["not found"])
    await refused(["campaign", "delete", "--tenant", beta, "--id", id], ["not found"])
    await refused(
      ["campaign", "put", "--tenant", beta, "--file", campaignFile("iso-b.json", campaign(id, { name: "Stolen" }))],
      ["conflict", id]
    )
    const kept = await cliJson<CampaignJson>(databaseUrl, "campaign", "show", "--tenant", alpha, "--id", id)
    assert.deepStrictEqual([kept.tenant, kept.name], [alpha, "Trail boots you viewed"])

    // Beta's feed is checked against beta's origins, and replaces only beta's catalog.
    const before = await cliJson(databaseUrl, "catalog", "list", "--tenant", alpha)
    const feed = file(
      "beta.csv",
      [
        feedHeader,
        "sku-b,Kite,https://beta.example/kite,https://beta.example/kite.jpg,30 EUR,in_stock",
        "sku-a,Boots,https://alpha.example/boots,https://alpha.example/boots.jpg,49.90 EUR,in_stock"
      ].join("\n")
    )
    assert.deepInclude(await cliJson<Report>(databaseUrl, "catalog", "import", "--tenant", beta, "--file", feed), {
      accepted: 1,
      rejected: 1
    })
    const betaList = await cliJson<{ products: ReadonlyArray<{ id: string }> }>(
      databaseUrl,
      ...["catalog", "list", "--tenant", beta]
    )
    assert.deepStrictEqual(
      betaList.products.map((p) => p.id),
      ["sku-b"]
    )
    assert.deepStrictEqual(await cliJson(databaseUrl, "catalog", "list", "--tenant", alpha), before)
  }, 300_000)
})
