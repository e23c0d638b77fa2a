/**
 * `SqlCampaignStore` on SQLite behaves like ad-selector's in-memory `CampaignStore` (the shared suite:
 * packages/ad-selector/test/campaignStoreSuite.ts); clients of one database file see each other's changes through
 * the revision, concurrent puts of one id by two tenants leave it with exactly one of them, and a stored campaign
 * that no longer decodes is `Corrupt`.
 */
import { join } from "node:path"
import { assert, describe, it, layer } from "@effect/vitest"
import { CampaignStore } from "@openaudience/ad-selector"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import { campaignOf, campaignStoreSuite } from "../../ad-selector/test/campaignStoreSuite.js"
import { Database, SqlCampaignStore } from "../src/index.js"
import { sqliteLayer, tempDir, unique } from "./fixtures.js"
import { sqlCampaignSuite } from "./sqlCampaignSuite.js"

layer(SqlCampaignStore.layer.pipe(Layer.provideMerge(sqliteLayer)), { excludeTestServices: true })(
  "CampaignStore over SqlCampaignStore (SQLite file)",
  (it) => {
    campaignStoreSuite(it)
    sqlCampaignSuite(it)
  }
)

layer(SqlCampaignStore.layer.pipe(Layer.provide(Database.layerFromUrl("sqlite::memory:"))), {
  excludeTestServices: true
})("CampaignStore over SqlCampaignStore (SQLite in memory)", (it) => campaignStoreSuite(it))

/** A campaign store on a client of its own of the database at `url`, open for the current scope. */
const storeOn = (url: string) =>
  Effect.map(Layer.build(SqlCampaignStore.layer.pipe(Layer.provide(Database.layerFromUrl(url)))), (context) =>
    Context.get(context, CampaignStore.CampaignStore)
  )

describe("SqlCampaignStore (SQLite file, several clients)", () => {
  it.scoped("shows one client's changes to another through the revision", () =>
    Effect.gen(function* () {
      const url = `sqlite:${join(yield* tempDir, "campaigns.db")}`
      const [one, two] = [yield* storeOn(url), yield* storeOn(url)]
      const seen = yield* two.revision
      const campaign = campaignOf(unique("ten"))
      yield* one.put(campaign)
      assert.isAbove(yield* two.revision, seen)
      assert.deepStrictEqual(yield* two.get(campaign.tenant, campaign.id), Option.some(campaign))
      const all = yield* two.all
      assert.strictEqual(all.revision, yield* one.revision)
      assert.deepStrictEqual(yield* SqlCampaignStore.migrate.pipe(Effect.provide(Database.layerFromUrl(url))), [])
    })
  )
})
