/**
 * What the SQL campaign store must do beyond the port's shared suite, on SQLite and PostgreSQL: two tenants putting
 * one id at once leave it with exactly one of them and the revision bumped once per accepted change; concurrent
 * changes never deadlock; a refused or invalid change leaves the revision alone; a stored campaign that no longer
 * decodes is `Corrupt`, not a defect.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import { assert, type Vitest } from "@effect/vitest"
import { type Campaign, CampaignStore } from "@openaudience/ad-selector"
import { Effect, Either, Option } from "effect"
import { campaignOf } from "../../ad-selector/test/campaignStoreSuite.js"
import { unique } from "./fixtures.js"

export const sqlCampaignSuite = (
  it: Vitest.MethodsNonLive<CampaignStore.CampaignStore | SqlClient.SqlClient, true>
) => {
  it.effect("gives an id to exactly one of two tenants putting it at once, bumping the revision per change", () =>
    Effect.gen(function* () {
      const store = yield* CampaignStore.CampaignStore
      for (let round = 0; round < 5; round++) {
        const id = unique("race")
        const tenants = [unique("ten"), unique("ten"), unique("ten")]
        const before = yield* store.revision
        const answers = yield* Effect.all(
          tenants.flatMap((tenant) => [
            Effect.either(store.put(campaignOf(tenant, id))),
            Effect.either(store.put(campaignOf(tenant, id, { name: "again" })))
          ]),
          { concurrency: "unbounded" }
        )
        const accepted = answers.filter(Either.isRight)
        const refused = answers.filter(Either.isLeft)
        for (const answer of refused) assert.strictEqual(answer.left.reason, "Conflict")
        // One tenant's two puts: one creates, the other replaces.
        assert.strictEqual(accepted.length, 2)
        assert.deepStrictEqual(accepted.map((a) => a.right).sort(), [false, true])
        assert.strictEqual((yield* store.revision) - before, 2)
        const owners = []
        for (const tenant of tenants) if (Option.isSome(yield* store.get(tenant, id))) owners.push(tenant)
        assert.strictEqual(owners.length, 1)
      }
    })
  )

  it.effect("never deadlocks when puts and removes of many campaigns run at once", () =>
    Effect.gen(function* () {
      const store = yield* CampaignStore.CampaignStore
      const tenant = unique("ten")
      const campaigns = Array.from({ length: 12 }, () => campaignOf(tenant))
      const before = yield* store.revision
      yield* Effect.forEach(campaigns, (c) => store.put(c), { discard: true })
      const answers = yield* Effect.all(
        campaigns.flatMap((c, i) => [store.remove(tenant, c.id), store.put({ ...c, name: `n${i}` })]),
        { concurrency: "unbounded" }
      )
      // Every put is a change; a remove only when it removed something.
      const removed = answers.filter((a, i) => i % 2 === 0 && a).length
      assert.strictEqual((yield* store.revision) - before, 12 + 12 + removed)
      const all = yield* store.all
      const listed = yield* store.list(tenant)
      assert.deepStrictEqual(
        all.campaigns.filter((c) => c.tenant === tenant),
        listed
      )
    })
  )

  it.effect("leaves the revision alone on a refused or invalid change", () =>
    Effect.gen(function* () {
      const store = yield* CampaignStore.CampaignStore
      const campaign = campaignOf(unique("ten"))
      yield* store.put(campaign)
      const revision = yield* store.revision
      const taken = yield* Effect.flip(store.put({ ...campaign, tenant: unique("ten") }))
      assert.strictEqual(taken.reason, "Conflict")
      assert.isFalse(yield* store.remove(unique("ten"), campaign.id))
      const invalid = { ...campaign, creatives: [] } as unknown as Campaign.Campaign
      const error = yield* Effect.flip(store.put(invalid))
      assert.strictEqual(error._tag, "CampaignStoreError")
      assert.match(error.message, /not a valid campaign/)
      assert.strictEqual(yield* store.revision, revision)
      assert.deepStrictEqual(yield* store.get(campaign.tenant, campaign.id), Option.some(campaign))
    })
  )

  it.effect("fails with Corrupt when a stored campaign no longer decodes", () =>
    Effect.gen(function* () {
      const store = yield* CampaignStore.CampaignStore
      const sql = yield* SqlClient.SqlClient
      const tenant = unique("ten")
      const campaign = campaignOf(tenant)
      yield* store.put(campaign)
      for (const document of ["{not json", JSON.stringify({ id: campaign.id, tenant })]) {
        yield* sql`UPDATE ad_campaigns SET document = ${document} WHERE id = ${campaign.id}`
        const reads: ReadonlyArray<Effect.Effect<unknown, CampaignStore.CampaignStoreError>> = [
          store.get(tenant, campaign.id),
          store.list(tenant),
          store.all
        ]
        for (const read of reads) {
          const error = yield* Effect.flip(read)
          assert.strictEqual(error.reason, "Corrupt")
        }
      }
      yield* store.put(campaign)
      assert.deepStrictEqual(yield* store.list(tenant), [campaign])
    })
  )
}
