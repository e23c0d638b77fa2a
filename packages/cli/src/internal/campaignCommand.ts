/**
 * `openaudience campaign list|show|put|delete|stats`: a tenant's campaigns and their statistics, as the admin API's
 * `/v1/campaigns` manages them (@openaudience/ad-selector's `CampaignStore`, `AdLog` and `Stats`). `put` reads the
 * campaign JSON of the API's body (without `tenant`: it is `--tenant`) and refuses it, naming every broken field.
 */
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import { AdLog, Campaign, CampaignStore, Stats } from "@openaudience/ad-selector"
import { TenancyStore } from "@openaudience/tenancy"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import { described, invalid, Missing, readText } from "./adsFailure.js"
import * as OperatorAudit from "./operatorAudit.js"
import * as Shared from "./options.js"
import * as Output from "./output.js"
import { withStore } from "./store.js"

/** The admin API's bound on a campaign body. */
const maxCampaignBytes = 256 * 1024

const id = Options.text("id").pipe(Options.withPseudoName("ID"), Options.withDescription("The campaign's id."))

const file = Options.text("file").pipe(
  Options.withPseudoName("FILE"),
  Options.withDescription("The campaign as JSON, the admin API's body: every field but `tenant` (see README).")
)

const days = Options.integer("days").pipe(
  Options.withPseudoName("N"),
  Options.withDescription(`The last N UTC days, today included (1–${Stats.MaxDays}).`),
  Options.withDefault(7)
)

/** Fails with `not found` when the tenant does not exist (the campaign store alone cannot tell). */
const tenantExists = (tenant: string) => Effect.flatMap(TenancyStore.TenancyStore, (store) => store.getTenant(tenant))

const campaigns = CampaignStore.CampaignStore

/** The tenant's campaign `id`, or `not found`. */
const found = (tenant: string, campaignId: string) =>
  Effect.flatMap(campaigns, (store) => store.get(tenant, campaignId)).pipe(
    Effect.flatMap(
      Option.match({
        onNone: () =>
          Effect.fail(new Missing({ reason: "NotFound", message: `no campaign ${campaignId} of tenant ${tenant}` })),
        onSome: Effect.succeed
      })
    )
  )

const decodeCampaign = Schema.decodeUnknownEither(Campaign.Campaign, { errors: "all", onExcessProperty: "error" })

/** A path of the JSON (`caps[0].window`), or `campaign` for the rules across fields. */
const pathOf = (path: ReadonlyArray<PropertyKey>): string =>
  path.length === 0
    ? "campaign"
    : path.map((key, i) => (typeof key === "number" ? `[${key}]` : i === 0 ? String(key) : `.${String(key)}`)).join("")

/** The file's campaign of `tenant`, or `invalid --file` naming every broken field on one line. */
const campaignOf = (tenant: string, text: string) =>
  Either.try({
    try: (): unknown => JSON.parse(text),
    catch: (error) => invalid("--file", `not JSON: ${error instanceof Error ? error.message : String(error)}`)
  }).pipe(
    Either.flatMap((input) =>
      typeof input !== "object" || input === null || Array.isArray(input)
        ? Either.left(invalid("--file", "expected one campaign, a JSON object"))
        : "tenant" in input
          ? Either.left(invalid("--file", "tenant: leave it out, the campaign is --tenant's"))
          : Either.mapLeft(decodeCampaign({ ...input, tenant }), (error) =>
              invalid(
                "--file",
                ParseResult.ArrayFormatter.formatErrorSync(error)
                  .map((issue) => `${pathOf(issue.path)}: ${issue.message}`)
                  .join("; ")
              )
            )
    )
  )

const money = (value: { readonly amount: number; readonly currency: string } | undefined): string | null =>
  value === undefined ? null : `${value.amount} ${value.currency}`

const campaignTable = (list: ReadonlyArray<Campaign.Campaign>): string =>
  Output.table(
    ["ID", "NAME", "STATUS", "TIER", "BID (MINOR)", "DAILY BUDGET", "CREATIVES"],
    list.map((c) => [
      c.id,
      c.name,
      c.status,
      c.tier.kind,
      money(c.bid),
      money(c.budget?.daily),
      c.creatives.map((creative) => `${creative.id} ${creative.width}x${creative.height}`).join(",")
    ])
  )

const campaignText = (c: Campaign.Campaign): string => {
  const encoded = Campaign.encode(c)
  return [
    Output.fields([
      ["id", c.id],
      ["tenant", c.tenant],
      ["name", c.name],
      ["status", c.status],
      ["tier", c.tier.kind],
      ["schedule", `${encoded.schedule.start} – ${encoded.schedule.end ?? "no end"}`],
      ["bid", money(c.bid)],
      ["daily budget", money(c.budget?.daily)],
      ["total budget", money(c.budget?.total)],
      ["pacing", c.pacing],
      ["targeting", c.targeting === undefined ? null : JSON.stringify(encoded.targeting)],
      ["caps", c.caps === undefined ? null : JSON.stringify(c.caps)]
    ]),
    "",
    Output.table(
      ["CREATIVE", "SIZE", "KIND", "LANDING URL"],
      c.creatives.map((creative) => [
        creative.id,
        `${creative.width}x${creative.height}`,
        creative.kind,
        creative.landingUrl
      ])
    )
  ].join("\n")
}

const list = Command.make("list", { tenant: Shared.tenant, json: Shared.json }, ({ json, tenant }) =>
  described(
    Effect.gen(function* () {
      yield* tenantExists(tenant)
      const all = yield* Effect.flatMap(campaigns, (store) => store.list(tenant))
      yield* Output.print(json, all.map(Campaign.encode), () => campaignTable(all))
    })
  )
).pipe(Command.withDescription("List the campaigns of a tenant."))

const show = Command.make("show", { tenant: Shared.tenant, id, json: Shared.json }, ({ id, json, tenant }) =>
  described(
    Effect.gen(function* () {
      yield* tenantExists(tenant)
      const campaign = yield* found(tenant, id)
      yield* Output.print(json, Campaign.encode(campaign), () => campaignText(campaign))
    })
  )
).pipe(Command.withDescription("Show a campaign of a tenant."))

const put = Command.make("put", { tenant: Shared.tenant, file, json: Shared.json }, ({ file, json, tenant }) =>
  described(
    Effect.gen(function* () {
      const text = yield* readText(file, maxCampaignBytes)
      const campaign = yield* campaignOf(tenant, text)
      yield* tenantExists(tenant)
      const store = yield* campaigns
      const existing = yield* store.get(tenant, campaign.id)
      const action = Option.isSome(existing) ? "campaign.update" : "campaign.create"
      yield* OperatorAudit.audited({ tenant, action, target: `campaign:${campaign.id}` }, store.put(campaign))
      const done = Option.isSome(existing) ? "Replaced" : "Created"
      yield* Output.print(
        json,
        Campaign.encode(campaign),
        () => `${done} campaign ${campaign.id} of tenant ${tenant}\n${campaignTable([campaign])}`
      )
    })
  )
).pipe(
  Command.withDescription(
    "Create a campaign, or replace the one of the same id: --file is its JSON without `tenant`, as the admin API's body."
  )
)

const remove = Command.make("delete", { tenant: Shared.tenant, id, json: Shared.json }, ({ id, json, tenant }) =>
  described(
    Effect.gen(function* () {
      yield* tenantExists(tenant)
      const store = yield* campaigns
      yield* OperatorAudit.audited(
        { tenant, action: "campaign.delete", target: `campaign:${id}` },
        Effect.flatMap(store.remove(tenant, id), (removed) =>
          removed
            ? Effect.void
            : Effect.fail(new Missing({ reason: "NotFound", message: `no campaign ${id} of tenant ${tenant}` }))
        )
      )
      yield* Output.print(json, { id, tenant, deleted: true }, () => `Deleted campaign ${id} of tenant ${tenant}`)
    })
  )
).pipe(Command.withDescription("Delete a campaign of a tenant (its statistics stay in the ad log)."))

const statsText = (stats: Stats.CampaignStats): string => {
  const ratio = (value: number | null) => (value === null ? null : `${(value * 100).toFixed(2)}%`)
  const row = (t: Stats.Totals) => [
    String(t.impressions),
    String(t.viewable),
    String(t.clicks),
    ratio(t.ctr),
    String(t.conversions),
    String(t.conversionValue),
    String(t.spend),
    t.cpa === null ? null : String(t.cpa),
    t.roas === null ? null : t.roas.toFixed(2)
  ]
  return Output.table(
    ["DAY", "IMPRESSIONS", "VIEWABLE", "CLICKS", "CTR", "CONVERSIONS", "VALUE", "SPEND", "CPA", "ROAS"],
    [...stats.days.map((day) => [day.day, ...row(day)]), ["total", ...row(stats.total)]]
  )
}

const stats = Command.make(
  "stats",
  { tenant: Shared.tenant, id, days, json: Shared.json },
  ({ days, id, json, tenant }) =>
    described(
      Effect.gen(function* () {
        const now = yield* Clock.currentTimeMillis
        const range = yield* Either.mapLeft(Stats.lastDays(days, now), (error) => invalid("--days", error.message))
        yield* tenantExists(tenant)
        yield* found(tenant, id)
        const log = yield* AdLog.AdLog
        const rows = yield* log.dailyStats(tenant, id, range)
        const summary = yield* Stats.summarize(rows, range)
        const value = Stats.CampaignStats.make(summary)
        yield* Output.print(json, value, () => statsText(value))
      })
    )
).pipe(
  Command.withDescription(
    "A campaign's statistics over the last --days UTC days: counters per day and in total, CTR with its Wilson interval (money in minor units)."
  )
)

/** `openaudience campaign …`. */
export const command = Command.make("campaign").pipe(
  Command.withDescription("Manage the campaigns of a tenant and read their statistics."),
  Command.withSubcommands([withStore(list), withStore(show), withStore(put), withStore(remove), withStore(stats)])
)
