/**
 * The ad decision. `make` compiles campaigns into an index once, at load time: by slot size, then audience-targeted
 * campaigns by tenant and audience (an inverted index), the others by the publisher sites they include, else by
 * the page categories they target, else in one list for every request, so a decision looks only at campaigns
 * that could match instead of scanning them all. `decide` fills one
 * slot from every tenant's campaigns:
 *
 * 1. candidates: the slot size's campaigns for this site, this category and any request, plus, for each tenant whose view of the
 *    visitor may be personalized, the campaigns of the audiences the visitor is in; each checked against its
 *    schedule and targeting with its own tenant's view of the visitor only;
 * 2. tiers in order: exclusive, contract priority 1 … 10, remnant, house; inside a tier, by expected value (CPM
 *    bid × the mean predicted response of the campaign's creatives for the slot), then campaign id;
 * 3. the first candidate that passes: caps and recency block (read from `CapStore` under the tenant's pseudonym;
 *    never for a visitor without one, with a child signal or on a child-directed site; skipped when they cannot be
 *    read: fail closed), budget (from `DeliveryStore`, skipped when unreadable),
 *    pacing (the guard against running ahead of the curve, then the pass-through coin), and then the creative is
 *    chosen by the `Chooser` (exploration happens after pacing);
 * 4. the impression is recorded: caps counted, then the budget charged atomically (a failure to count a capped
 *    campaign's impression, or a charge refused, passes to the next candidate).
 *
 * All randomness comes from one `Rng` seeded by Effect's `Random` per decision, time from `Clock`: the same seed,
 * clock and state give the same decisions.
 *
 * @since 0.1.0
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Budget from "./Budget.js"
import * as Campaign from "./Campaign.js"
import * as Caps from "./Caps.js"
import * as Chooser from "./Chooser.js"
import type * as Decision from "./Decision.js"
import { DAY, dayIndex } from "./internal/calendar.js"
import * as Schedule from "./internal/schedule.js"
import * as Pacing from "./Pacing.js"
import * as Rng from "./Rng.js"
import * as Targeting from "./Targeting.js"

/**
 * One ad request: the context, and per advertiser tenant what that tenant knows of the visitor (a tenant absent
 * from `visitors` sees an anonymous browser). `explain` also reports targeting mismatches in `skipped`.
 *
 * @since 0.1.0
 * @category models
 */
export interface Request extends Targeting.Context {
  readonly visitors: ReadonlyMap<string, Targeting.Visitor>
  readonly explain?: boolean | undefined
}

/**
 * The predicted probability of a response (a click) to `creative` of `campaign` for `request`, in (0, 1): the
 * chooser's prior for the creative and the response factor of the expected value that orders campaigns.
 *
 * @since 0.1.0
 * @category models
 */
export type Predictor = (campaign: Campaign.Campaign, creative: Campaign.Creative, request: Request) => number

/**
 * The same prediction for everything (0.001 by default): campaigns are then ordered by bid alone.
 *
 * @since 0.1.0
 * @category constructors
 */
export const constant =
  (rate = 0.001): Predictor =>
  () =>
    rate

/**
 * Index settings: the currency every campaign must bid in (campaigns in another are rejected, listed in
 * `rejected`), the chooser of creatives (default `Chooser.uniform`), the predictor (default `constant()`), and the
 * pacing controller's settings.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  readonly currency: string
  readonly chooser?: Chooser.Chooser | undefined
  readonly predictor?: Predictor | undefined
  readonly pacing?: Pacing.Options | undefined
}

/** A compiled campaign; its schedule's bounds and masks are inlined (one object to touch per candidate). */
interface Entry extends Schedule.Active {
  readonly campaign: Campaign.Campaign
  readonly id: string
  readonly tenant: string
  readonly rank: number
  readonly active: Schedule.Active
  readonly activeMs: Pacing.ActiveTime
  readonly targeting: Targeting.Compiled
  readonly capped: boolean
  readonly caps: ReadonlyArray<Campaign.Cap>
  readonly creativeCaps: boolean
  readonly blockMs: number | undefined
  readonly cost: number
  readonly limits: Budget.Limits
  readonly budgeted: boolean
  readonly paced: boolean
  readonly creatives: ReadonlyMap<string, ReadonlyArray<Campaign.Creative>>
  /** The decision that last looked at this entry (deduplicates candidates without a set). */
  mark: number
}

interface SizeIndex {
  readonly anySite: Array<Entry>
  readonly bySite: Map<string, Array<Entry>>
  readonly byCategory: Map<string, Array<Entry>>
  readonly byAudience: Map<string, Map<string, Array<Entry>>>
}

/**
 * Campaigns compiled for decisions. Build one with `make` whenever the campaigns change; decisions read it
 * without changing what it answers.
 *
 * @since 0.1.0
 * @category models
 */
export interface Index {
  readonly currency: string
  readonly size: number
  readonly rejected: ReadonlyArray<{ readonly campaignId: string; readonly reason: string }>
  /** @internal */
  readonly bySize: ReadonlyMap<string, SizeIndex>
  /** @internal */
  readonly recordFor: ReadonlySet<string>
  /** @internal */
  readonly chooser: Chooser.Chooser
  /** @internal */
  readonly predictor: Predictor
  /** @internal */
  readonly pacing: Pacing.Options
  /** @internal */
  generation: number
}

const sizeKey = (width: number, height: number): string => `${width}x${height}`

const push = <K, V>(map: Map<K, Array<V>>, key: K, value: V) => {
  const list = map.get(key)
  if (list === undefined) map.set(key, [value])
  else list.push(value)
}

/**
 * Compiles campaigns into an index. Only `active` campaigns are indexed; campaigns bidding in another currency
 * than `options.currency` are left out and listed in `rejected`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (campaigns: Iterable<Campaign.Campaign>, options: Options): Index => {
  const bySize = new Map<string, SizeIndex>()
  const rejected: Array<{ campaignId: string; reason: string }> = []
  const recordFor = new Set<string>()
  let size = 0
  for (const campaign of campaigns) {
    if (campaign.status !== "active") continue
    if (campaign.bid.currency !== options.currency) {
      rejected.push({
        campaignId: campaign.id,
        reason: `bids in ${campaign.bid.currency}, the index is in ${options.currency}`
      })
      continue
    }
    const creatives = new Map<string, Array<Campaign.Creative>>()
    for (const creative of campaign.creatives) push(creatives, sizeKey(creative.width, creative.height), creative)
    const active = Schedule.compile(campaign.schedule)
    const targeting = Targeting.compile(campaign.targeting)
    const caps = campaign.caps ?? []
    const capped = Campaign.isCapped(campaign)
    if (capped) recordFor.add(campaign.tenant)
    const limits: Budget.Limits = {
      daily: campaign.budget?.daily === undefined ? undefined : Budget.toMillis(campaign.budget.daily),
      total: campaign.budget?.total === undefined ? undefined : Budget.toMillis(campaign.budget.total)
    }
    const entry: Entry = {
      campaign,
      id: campaign.id,
      tenant: campaign.tenant,
      rank: Campaign.tierRank(campaign.tier),
      active,
      start: active.start,
      end: active.end,
      hours: active.hours,
      days: active.days,
      activeMs: (from, to) => Schedule.activeMs(active, from, to),
      targeting,
      capped,
      caps,
      creativeCaps: caps.some((c) => c.scope === "creative"),
      blockMs: campaign.recencyBlockSeconds === undefined ? undefined : campaign.recencyBlockSeconds * 1000,
      cost: Budget.impressionCost(campaign.bid),
      limits,
      budgeted: limits.daily !== undefined || limits.total !== undefined,
      paced: campaign.pacing === "even",
      creatives,
      mark: 0
    }
    size++
    for (const key of creatives.keys()) {
      let index = bySize.get(key)
      if (index === undefined) {
        index = { anySite: [], bySite: new Map(), byCategory: new Map(), byAudience: new Map() }
        bySize.set(key, index)
      }
      if (targeting.include !== undefined) {
        let audiences = index.byAudience.get(campaign.tenant)
        if (audiences === undefined) {
          audiences = new Map()
          index.byAudience.set(campaign.tenant, audiences)
        }
        for (const audience of targeting.include) push(audiences, audience, entry)
      } else if (targeting.sitesInclude !== undefined) {
        for (const site of targeting.sitesInclude) push(index.bySite, site, entry)
      } else if (targeting.categories !== undefined) {
        for (const category of targeting.categories) push(index.byCategory, category, entry)
      } else {
        index.anySite.push(entry)
      }
    }
  }
  return {
    currency: options.currency,
    size,
    rejected,
    bySize,
    recordFor,
    chooser: options.chooser ?? Chooser.uniform,
    predictor: options.predictor ?? constant(),
    pacing: options.pacing ?? Pacing.defaults,
    generation: 0
  }
}

const tierLabel = (tier: Campaign.Tier): string => (tier.kind === "contract" ? `contract ${tier.priority}` : tier.kind)

/** Whether candidate `i` comes before `j`: higher expected value, then smaller campaign id. */
const better = (bucket: ReadonlyArray<Entry>, values: ReadonlyArray<number>, i: number, j: number): boolean => {
  const vi = values[i]!
  const vj = values[j]!
  return vi > vj || (vi === vj && bucket[i]!.id < bucket[j]!.id)
}

/** Candidates found by scanning for the best before the rest of a tier is sorted. */
const scanned = 4

const clampPrior = (p: number): number => (Number.isFinite(p) ? Math.min(0.999999, Math.max(1e-6, p)) : 1e-6)

/**
 * One entry reached by `gather`: put in its tier's bucket when its schedule, targeting and identification allow it,
 * else (with `explain`, or always for a missing identifier) listed as skipped. An entry reached twice in a decision
 * (`mark`) counts once. A module function, not a closure per decision: under tsx (`pnpm start`) every named closure
 * made costs an `Object.defineProperty`.
 */
const consider = (
  entry: Entry,
  mark: number,
  request: Request,
  now: number,
  skipped: Array<Decision.Skip>,
  buckets: Array<Array<Entry>>
): void => {
  if (entry.mark === mark) return
  entry.mark = mark
  if (!Schedule.isActive(entry, now)) {
    if (request.explain === true) skipped.push({ campaignId: entry.id, reason: "schedule" })
    return
  }
  const visitor = request.visitors.get(entry.tenant)
  // An audience-targeted entry is only reached through one of the visitor's audiences of its own tenant.
  const mismatch = Targeting.check(entry.targeting, request, visitor, now, true)
  if (mismatch !== undefined) {
    if (request.explain === true) skipped.push({ campaignId: entry.id, reason: mismatch })
    return
  }
  if (entry.capped && !Targeting.mayIdentify(request, visitor)) {
    skipped.push({ campaignId: entry.id, reason: visitor?.key === undefined ? "no-identifier" : "child" })
    return
  }
  buckets[entry.rank]!.push(entry)
}

/**
 * The candidates of a request by tier rank: every campaign of the slot's size that the site, category and the
 * visitor's audiences reach, checked against its schedule and targeting. Plain code outside the decision's
 * generator, so the engine optimizes this loop on its own.
 */
const gather = (
  index: Index,
  sizeIndex: SizeIndex,
  request: Request,
  now: number,
  skipped: Array<Decision.Skip>
): Array<Array<Entry>> => {
  const mark = ++index.generation
  const buckets: Array<Array<Entry>> = []
  for (let rank = 0; rank <= 12; rank++) buckets.push([])

  for (const entry of sizeIndex.anySite) consider(entry, mark, request, now, skipped, buckets)
  const forSite = sizeIndex.bySite.get(request.site)
  if (forSite !== undefined) for (const entry of forSite) consider(entry, mark, request, now, skipped, buckets)
  const forCategory = request.category === undefined ? undefined : sizeIndex.byCategory.get(request.category)
  if (forCategory !== undefined) for (const entry of forCategory) consider(entry, mark, request, now, skipped, buckets)
  if (sizeIndex.byAudience.size > 0) {
    for (const [tenant, visitor] of request.visitors) {
      const audiences = sizeIndex.byAudience.get(tenant)
      if (audiences === undefined || !Targeting.mayPersonalize(request, visitor)) continue
      for (const audience of visitor.audiences) {
        const list = audiences.get(audience)
        if (list !== undefined) for (const entry of list) consider(entry, mark, request, now, skipped, buckets)
      }
    }
  }
  return buckets
}

/** Each candidate's expected value: its CPM bid times the mean predicted response of its creatives of `key`. */
const expectedValues = (index: Index, bucket: ReadonlyArray<Entry>, key: string, request: Request): Array<number> => {
  const values: Array<number> = new Array(bucket.length)
  for (let i = 0; i < bucket.length; i++) {
    const entry = bucket[i]!
    const creatives = entry.creatives.get(key)!
    let sum = 0
    for (const creative of creatives) sum += clampPrior(index.predictor(entry.campaign, creative, request))
    values[i] = entry.cost * (sum / creatives.length)
  }
  return values
}

type Counters = Caps.Counters | "unavailable"

/**
 * What a decision asks of its stores, one step at a time: the decision is a generator of these, run by `decide`
 * (each through the store's effect) or by `unsafeDecide` (from memory while the stores can answer so).
 */
type Step =
  | { readonly _tag: "Counters"; readonly tenant: string; readonly key: string }
  | { readonly _tag: "Delivery"; readonly id: string }
  | { readonly _tag: "SetPacing"; readonly id: string; readonly state: Pacing.State }
  | {
      readonly _tag: "Record"
      readonly tenant: string
      readonly key: string
      readonly keys: ReadonlyArray<string>
      readonly now: number
    }
  | {
      readonly _tag: "Charge"
      readonly id: string
      readonly cost: number
      readonly limits: Budget.Limits
      readonly now: number
    }

/** A step's answer: counters, a delivery state (`undefined`: unreadable), `true` for a write done, a charge's. */
type Answer = Counters | Budget.Delivery | boolean | "unavailable" | undefined

type Steps = Generator<Step, Decision.Decision, Answer>

/** A step through the stores' effects; failures are answers (the decision passes over what needs the store). */
const perform = (step: Step, capStore: Caps.Service, deliveryStore: Budget.Service): Effect.Effect<Answer> => {
  switch (step._tag) {
    case "Counters":
      return Effect.orElseSucceed(capStore.read(step.tenant, step.key), (): Counters => "unavailable")
    case "Delivery":
      return Effect.orElseSucceed(deliveryStore.read(step.id), () => undefined)
    case "SetPacing":
      return Effect.as(Effect.ignore(deliveryStore.setPacing(step.id, step.state)), true)
    case "Record":
      return Effect.match(capStore.record(step.tenant, step.key, step.keys, step.now), {
        onFailure: () => false,
        onSuccess: () => true
      })
    case "Charge":
      return Effect.orElseSucceed(
        deliveryStore.charge(step.id, step.cost, step.limits, step.now),
        (): "unavailable" => "unavailable"
      )
  }
}

/** Runs the rest of a decision through the stores' effects, from `first`: the step it stopped at, not yet done. */
const runSteps = (
  steps: Steps,
  first: IteratorResult<Step, Decision.Decision>
): Effect.Effect<Decision.Decision, never, Caps.CapStore | Budget.DeliveryStore> =>
  Effect.gen(function* () {
    const capStore = yield* Caps.CapStore
    const deliveryStore = yield* Budget.DeliveryStore
    let next = first
    while (next.done !== true) next = steps.next(yield* perform(next.value, capStore, deliveryStore))
    return next.value
  })

/**
 * Decides which campaign and creative fill the request's slot, and records the impression (caps counted, budget
 * charged). Never fails: a store that cannot be read or written makes the campaigns that need it pass over.
 *
 * @since 0.1.0
 * @category decisions
 */
export const decide = (
  index: Index,
  request: Request
): Effect.Effect<Decision.Decision, never, Caps.CapStore | Budget.DeliveryStore> =>
  Effect.gen(function* () {
    const now = yield* Clock.currentTimeMillis
    const rng = yield* Rng.fromRandom
    // From memory as far as the delivery store can answer so (`unsafeDecide`), then through the stores' effects.
    const decided = unsafeDecide(index, request, { now, rng, deliveryStore: yield* Budget.DeliveryStore })
    return decided._tag === "Suspended" ? yield* decided.resume : decided
  })

/**
 * A decision `unsafeDecide` could not finish from memory: `resume` finishes it through the stores' effects, from
 * where it stopped (nothing is read, counted or charged twice). Run `resume` once: a second run dies.
 *
 * @since 0.6.0
 * @category models
 */
export interface Suspended {
  readonly _tag: "Suspended"
  readonly resume: Effect.Effect<Decision.Decision, never, Caps.CapStore | Budget.DeliveryStore>
}

/**
 * `decide` without an effect, for a server's hot path: the decision at `now` with `rng`, its budget reads and
 * charges answered by the delivery store's `unsafeRead` and `unsafeCharge` (what it holds in memory). At the first
 * step that needs a store's effect (a frequency cap, a pacing update, a campaign the store has not loaded, a store
 * without those methods) it stops and answers `Suspended`, whose `resume` finishes the same decision. Same rules and
 * results as `decide`.
 *
 * @since 0.6.0
 * @category decisions
 */
export const unsafeDecide = (
  index: Index,
  request: Request,
  options: { readonly now: number; readonly rng: Rng.Rng; readonly deliveryStore: Budget.Service }
): Decision.Decision | Suspended => {
  const { deliveryStore } = options
  const steps = decision(index, request, options.now, options.rng)
  let next = steps.next()
  while (next.done !== true) {
    const step = next.value
    let answer: Answer | typeof notNow = notNow
    if (step._tag === "Delivery") answer = deliveryStore.unsafeRead?.(step.id) ?? notNow
    else if (step._tag === "Charge") {
      answer = deliveryStore.unsafeCharge?.(step.id, step.cost, step.limits, step.now) ?? notNow
    }
    if (answer === notNow) {
      const stopped = next
      let resumed = false
      // The generator goes on from where it stopped once: a second run would decide nothing.
      const resume = Effect.suspend(() => {
        if (resumed) return Effect.dieMessage("Selector.unsafeDecide: a suspended decision is resumed once")
        resumed = true
        return runSteps(steps, stopped)
      })
      return { _tag: "Suspended", resume }
    }
    next = steps.next(answer)
  }
  return next.value
}

const notNow: unique symbol = Symbol("notNow")

function* decision(index: Index, request: Request, now: number, rng: Rng.Rng): Steps {
  const skipped: Array<Decision.Skip> = []
  const sizeIndex = index.bySize.get(sizeKey(request.width, request.height))
  if (sizeIndex === undefined) {
    return { _tag: "Empty", reason: "no campaign has a creative of this size", at: now, skipped } as const
  }
  const buckets = gather(index, sizeIndex, request, now, skipped)

  const counters = new Map<string, Counters>()

  const key = `${request.width}x${request.height}`
  for (let rank = 0; rank <= 12; rank++) {
    const bucket = buckets[rank]!
    if (bucket.length === 0) continue
    const n = bucket.length
    // Expected values, and -1 once tried. Most decisions take the first candidate, so the best is found by a
    // scan (no allocation per candidate, no sort); after a few refusals the rest is sorted once.
    const values = expectedValues(index, bucket, key, request)
    let rest: Array<number> | undefined
    for (let position = 0; position < n; position++) {
      let best: number
      if (rest !== undefined) {
        best = rest[position - scanned]!
      } else if (position < scanned) {
        best = -1
        for (let i = 0; i < n; i++) if (values[i]! >= 0 && (best < 0 || better(bucket, values, i, best))) best = i
      } else {
        rest = []
        for (let i = 0; i < n; i++) if (values[i]! >= 0) rest.push(i)
        rest.sort((a, b) => (better(bucket, values, a, b) ? -1 : 1))
        best = rest[0]!
      }
      values[best] = -1
      const entry = bucket[best]!
      const visitor = request.visitors.get(entry.tenant)
      const visitorKey = visitor?.key
      let arms: ReadonlyArray<Chooser.Arm> = entry.creatives.get(key)!.map((creative) => ({
        id: creative.id,
        prior: clampPrior(index.predictor(entry.campaign, creative, request))
      }))
      if (entry.capped) {
        let found = counters.get(entry.tenant)
        if (found === undefined) {
          found = (yield { _tag: "Counters", tenant: entry.tenant, key: visitorKey! }) as Counters
          counters.set(entry.tenant, found)
        }
        if (found === "unavailable") {
          skipped.push({ campaignId: entry.id, reason: "caps-unavailable" })
          continue
        }
        const campaignCounter = found.get(Caps.campaignKey(entry.id))
        if (
          entry.blockMs !== undefined &&
          campaignCounter !== undefined &&
          now - campaignCounter.last < entry.blockMs
        ) {
          skipped.push({ campaignId: entry.id, reason: "recency-block" })
          continue
        }
        if (
          !Caps.allows(entry.caps, "campaign", campaignCounter, now) ||
          !Caps.allows(entry.caps, "advertiser", found.get(Caps.advertiserKey), now)
        ) {
          skipped.push({ campaignId: entry.id, reason: "capped" })
          continue
        }
        if (entry.creativeCaps) {
          arms = arms.filter((arm) =>
            Caps.allows(entry.caps, "creative", found.get(Caps.creativeKey(entry.id, arm.id)), now)
          )
          if (arms.length === 0) {
            skipped.push({ campaignId: entry.id, reason: "capped" })
            continue
          }
        }
      }
      let pass = 1
      if (entry.budgeted) {
        const delivery = (yield { _tag: "Delivery", id: entry.id }) as Budget.Delivery | undefined
        if (delivery === undefined) {
          skipped.push({ campaignId: entry.id, reason: "budget-unavailable" })
          continue
        }
        const { pacing, spend } = delivery
        if (!Budget.fits(spend, entry.cost, entry.limits, now)) {
          skipped.push({ campaignId: entry.id, reason: "budget" })
          continue
        }
        if (entry.paced) {
          const spentToday = Budget.spentToday(spend, now)
          let state = pacing
          if (Pacing.due(pacing, now, spentToday, entry.cost, index.pacing)) {
            const target = Pacing.dailyTarget({
              daily: entry.limits.daily,
              total: entry.limits.total,
              spentToday,
              spentTotal: spend.total,
              activeDaysLeft:
                entry.limits.total === undefined || entry.active.end === Number.POSITIVE_INFINITY
                  ? 0
                  : Schedule.activeDaysLeft(entry.active, dayIndex(now) * DAY, 3_660)
            })
            if (target !== undefined) {
              state = Pacing.step(
                pacing,
                { now, spentToday, target, cost: entry.cost, active: entry.activeMs },
                index.pacing
              )
              yield { _tag: "SetPacing", id: entry.id, state }
            }
          }
          if (state !== undefined) {
            const next = state
            if (!Pacing.withinCurve(entry.activeMs, now, spentToday, entry.cost, next.target, index.pacing)) {
              skipped.push({ campaignId: entry.id, reason: "ahead-of-curve" })
              continue
            }
            pass = next.p
            if (pass < 1 && rng.next() >= pass) {
              skipped.push({ campaignId: entry.id, reason: "paced" })
              continue
            }
          }
        }
      }
      const choice = index.chooser.choose(entry.id, arms, rng)
      if (visitorKey !== undefined && index.recordFor.has(entry.tenant) && Targeting.mayIdentify(request, visitor)) {
        const recorded = yield {
          _tag: "Record",
          tenant: entry.tenant,
          key: visitorKey,
          keys: [Caps.campaignKey(entry.id), Caps.creativeKey(entry.id, choice.id), Caps.advertiserKey],
          now
        }
        if (recorded !== true && entry.capped) {
          skipped.push({ campaignId: entry.id, reason: "caps-unavailable" })
          continue
        }
      }
      if (entry.budgeted) {
        const charged = yield { _tag: "Charge", id: entry.id, cost: entry.cost, limits: entry.limits, now }
        if (charged === "unavailable") {
          skipped.push({ campaignId: entry.id, reason: "budget-unavailable" })
          continue
        }
        if (charged !== true) {
          skipped.push({ campaignId: entry.id, reason: "budget" })
          continue
        }
      }
      const tier = entry.campaign.tier
      const reason =
        tier.kind === "house"
          ? `house: no paid campaign could serve; ${position + 1} of ${n} house campaigns by expected value, then id`
          : `${tierLabel(tier)}: the first tier with an eligible campaign; ${
              position === 0 ? "highest" : `${position + 1}. highest`
            } expected value of ${n}`
      return {
        _tag: "Selected",
        campaignId: entry.id,
        tenant: entry.tenant,
        creativeId: choice.id,
        tier,
        personalized: entry.targeting.personalized,
        propensity: choice.propensity,
        pacing: pass,
        costMillis: entry.cost,
        currency: index.currency,
        reason,
        at: now,
        skipped
      } as const
    }
  }
  return {
    _tag: "Empty",
    reason: skipped.length === 0 ? "no campaign matches this request" : "every matching campaign was passed over",
    at: now,
    skipped
  } as const
}
