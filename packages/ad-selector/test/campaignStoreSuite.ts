/**
 * The behaviour of every `CampaignStore`, run here over `CampaignStore.layerMemory` and by @openaudience/storage-sql
 * over its SQL store on SQLite and PostgreSQL: exact round trips of campaigns (money, schedules, targeting, caps),
 * replace, tenant isolation, ids unique across tenants, and a revision that grows with every change. Every test
 * uses ids of its own.
 */
import { randomUUID } from "node:crypto"
import { assert, type Vitest } from "@effect/vitest"
import { DateTime, Effect, Either, Option } from "effect"
import * as Campaign from "../src/Campaign.js"
import * as CampaignStore from "../src/CampaignStore.js"

const fresh = (prefix: string) => `${prefix}-${randomUUID().slice(0, 8)}`

/** A valid campaign of `tenant` (decoded, so it carries every default the schema gives). */
export const campaignOf = (tenant: string, id = fresh("cmp"), overrides: Record<string, unknown> = {}) => {
  const decoded = Campaign.decode({
    id,
    tenant,
    name: "Trail boots — retargeting ✓",
    status: "active",
    tier: { kind: "remnant" },
    schedule: { start: "2026-12-01T00:00:00.000Z", end: "2027-01-31T00:00:00.000Z", hours: [8, 9, 10], days: [1, 2] },
    budget: { daily: { amount: 5000, currency: "EUR" }, total: { amount: 100_000, currency: "EUR" } },
    bid: { amount: 250, currency: "EUR" },
    targeting: {
      audiences: { include: ["viewed-boots"], exclude: ["bought"] },
      sites: { exclude: ["rival-news"] },
      categories: ["sports"],
      devices: ["desktop", "mobile"]
    },
    caps: [{ scope: "campaign", window: "day", max: 3 }],
    recencyBlockSeconds: 60,
    pacing: "even",
    creatives: [{ id: "cr-1", width: 300, height: 250, kind: "product", landingUrl: "https://shop.example/boots" }],
    ...overrides
  })
  if (Either.isLeft(decoded)) throw new Error(decoded.left)
  return decoded.right
}

export const campaignStoreSuite = (it: Vitest.MethodsNonLive<CampaignStore.CampaignStore, true>) => {
  it.effect("round-trips a campaign exactly, replaces it, and lists a tenant's by id", () =>
    Effect.gen(function* () {
      const store = yield* CampaignStore.CampaignStore
      const tenant = fresh("ten")
      const b = campaignOf(tenant, `b-${randomUUID().slice(0, 6)}`)
      const a = campaignOf(tenant, `a-${randomUUID().slice(0, 6)}`, { tier: { kind: "contract", priority: 3 } })
      assert.isTrue(yield* store.put(b))
      assert.isTrue(yield* store.put(a))
      assert.deepStrictEqual(yield* store.get(tenant, b.id), Option.some(b))
      assert.deepStrictEqual(
        (yield* store.list(tenant)).map((c) => c.id),
        [a.id, b.id]
      )
      const paused = { ...b, status: "paused" as const, name: "paused" }
      assert.isFalse(yield* store.put(paused))
      assert.deepStrictEqual(yield* store.get(tenant, b.id), Option.some(paused))
      assert.strictEqual(DateTime.toEpochMillis((yield* store.list(tenant))[1]!.schedule.start), Date.UTC(2026, 11, 1))
    })
  )

  it.effect("keeps tenants apart and ids unique across them", () =>
    Effect.gen(function* () {
      const store = yield* CampaignStore.CampaignStore
      const mine = fresh("ten")
      const theirs = fresh("ten")
      const campaign = campaignOf(mine)
      yield* store.put(campaign)
      assert.isTrue(Option.isNone(yield* store.get(theirs, campaign.id)))
      assert.deepStrictEqual(yield* store.list(theirs), [])
      assert.isFalse(yield* store.remove(theirs, campaign.id))
      const taken = yield* Effect.either(store.put({ ...campaign, tenant: theirs }))
      assert.isTrue(Either.isLeft(taken) && taken.left.reason === "Conflict")
      assert.deepStrictEqual(yield* store.get(mine, campaign.id), Option.some(campaign))
      assert.isTrue(yield* store.remove(mine, campaign.id))
      assert.isTrue(Option.isNone(yield* store.get(mine, campaign.id)))
      assert.isFalse(yield* store.remove(mine, campaign.id))
      // Once removed, the id is free again.
      assert.isTrue(yield* store.put({ ...campaign, tenant: theirs }))
    })
  )

  it.effect("grows the revision with every change and reads campaigns with their revision", () =>
    Effect.gen(function* () {
      const store = yield* CampaignStore.CampaignStore
      const tenant = fresh("ten")
      const r0 = yield* store.revision
      const campaign = campaignOf(tenant)
      yield* store.put(campaign)
      const r1 = yield* store.revision
      assert.isAbove(r1, r0)
      yield* store.put({ ...campaign, name: "renamed" })
      const r2 = yield* store.revision
      assert.isAbove(r2, r1)
      const all = yield* store.all
      assert.isAtLeast(all.revision, r2)
      assert.include(
        all.campaigns.map((c) => c.id),
        campaign.id
      )
      yield* store.remove(tenant, campaign.id)
      assert.isAbove(yield* store.revision, r2)
      assert.notInclude(
        (yield* store.all).campaigns.map((c) => c.id),
        campaign.id
      )
      // Refusals change nothing.
      const r3 = yield* store.revision
      yield* store.remove(tenant, campaign.id)
      assert.strictEqual(yield* store.revision, r3)
    })
  )
}
