/**
 * The demo's advertising, seeded at start in demo mode (`OA_DEMO=1`) through the same stores as everything else:
 * @openaudience/ad-selector's `DemoSeed` (the shop's catalog with images, a retargeting campaign with product
 * creatives, a contextual campaign and a house ad) and the retargeting audience ("viewed a product in the last 30
 * days and did not buy it"), created when missing. Idempotent: every start of every process may run it.
 *
 * An audience is targetable only from k (50) members, and a demo has one visitor: the seed also sends, through the
 * server's own conversions API and the demo admin key, product views of `OA_DEMO_SYNTHETIC_VISITORS` (60) synthetic visitors
 * (ids `vis_demo_synthetic_N`, event ids fixed, so a restart sends duplicates the collector ignores). They are
 * the crowd the demo visitor hides in; the inspector shows them.
 */
import { DemoSeed } from "@openaudience/ad-selector"
import { AudienceRule } from "@openaudience/audience"
import { AudienceStore } from "@openaudience/storage-sql"
import { Seed } from "@openaudience/tenancy"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import { Listening } from "./HttpServer.js"
import { defaultDemoAdminKey, ServerConfig } from "./ServerConfig.js"
import { Tenants } from "./Tenants.js"

/** Seeds the demo's ads for a shop served at `shopOrigin`. */
export const seed = (shopOrigin: string) =>
  Effect.gen(function* () {
    yield* DemoSeed.seed(shopOrigin)
    const audiences = yield* AudienceStore.AudienceStore
    const { id, name, rule } = DemoSeed.audience
    const existing = yield* audiences.get(DemoSeed.tenant, id)
    if (Option.isNone(existing)) {
      const decoded = AudienceRule.decodeEither(rule)
      if (Either.isLeft(decoded))
        return yield* Effect.dieMessage(`the demo audience is invalid: ${decoded.left.message}`)
      const now = yield* Clock.currentTimeMillis
      yield* audiences.create(DemoSeed.tenant, id, { name, status: "active", rule: decoded.right }, now)
    }
  })

/** The product views of `count` synthetic visitors, as server-to-server events of the demo site. */
export const syntheticViews = (count: number): ReadonlyArray<Record<string, unknown>> =>
  Array.from({ length: count }, (_, i) => ({
    type: "product_view",
    id: `demo-synthetic-view-${String(i).padStart(3, "0")}`,
    site: "demo",
    visitorId: `vis_demo_synthetic_${String(i).padStart(3, "0")}`,
    productId: DemoSeed.products[i % DemoSeed.products.length]!.id
  }))

/** Sends the synthetic views to the server at `url` with the demo admin key. */
const sendSynthetic = (url: string, adminKey: string, count: number) =>
  Effect.tryPromise({
    try: async () => {
      const response = await fetch(`${url}/v1/events`, {
        method: "POST",
        headers: { authorization: `Bearer ${adminKey}`, "content-type": "application/json" },
        body: JSON.stringify(syntheticViews(count))
      })
      const text = await response.text()
      if (response.status >= 300 && response.status !== 400)
        throw new Error(`${response.status}: ${text.slice(0, 300)}`)
    },
    catch: (error) => new Error(`the synthetic visitors could not be sent: ${String(error)}`)
  })

/** The seed in demo mode, once the server listens (the shop's links name its real address), nothing otherwise. */
export const layer = Layer.effectDiscard(
  Effect.gen(function* () {
    const config = yield* ServerConfig
    if (!config.demo) return
    const { url } = yield* Listening
    // The demo's sites on the address the server really listens on (a test's port is only known now).
    yield* Seed.demo(Redacted.value(config.demoAdminKey), {
      publicUrl: config.publicUrl ?? url,
      cookieless: config.demoCookieless,
      retire: [defaultDemoAdminKey]
    }).pipe(
      Effect.zipRight(Effect.flatMap(Tenants, (tenants) => tenants.refresh)),
      Effect.catchAll((error) => Effect.logWarning("Could not add the demo's address to its sites", error))
    )
    yield* seed(new URL(config.publicUrl ?? url).origin).pipe(
      Effect.zipRight(
        config.demoSyntheticVisitors === 0
          ? Effect.void
          : sendSynthetic(url, Redacted.value(config.demoAdminKey), config.demoSyntheticVisitors)
      ),
      Effect.catchAll((error) => Effect.logWarning("Could not seed the demo's ads", error))
    )
  })
)
