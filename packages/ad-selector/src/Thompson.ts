/**
 * Thompson sampling for the choice inside a campaign: each arm (creative or product) of each scope has a
 * Beta-Bernoulli posterior over its click-through rate, built from the impressions and clicks of a sliding window
 * (so what a creative did last month ages out), on top of a prior from the click-through model (`Arm.prior`,
 * typically `Ftrl.predict`) worth `priorWeight` impressions: `Beta(prior·n0 + clicks, (1 − prior)·n0 + misses)`.
 * A decision draws one rate per arm and shows the arm with the highest draw; a new arm starts from its prior (cold
 * start) and is shown as often as that prior's uncertainty warrants.
 *
 * Each choice carries its propensity, the probability that Thompson sampling picks that arm given the posteriors,
 * estimated by Monte Carlo (see `Options.propensityDraws`), for off-policy evaluation with `OffPolicy`.
 *
 * The window is `buckets` time buckets of `window / buckets` ms each. Time is passed in explicitly (`at(now)`,
 * `impression(…, at)`), or read from `Clock` with `current`, so the sampler is deterministic under `TestClock` and
 * a seeded `Rng`. Impressions and clicks are fed back separately because clicks arrive late: a click is counted in
 * the bucket of the decision it belongs to. The state is in memory; `exportState` and `restore` persist it.
 *
 * **Conversions** (delayed rewards): a conversion attributed to a decision is counted, like its click, in the bucket of
 * that decision (`conversion`). The reward of an impression is then `click + w · conversion` (`conversionWeight`, w,
 * default 10: a conversion is worth ten clicks), and the arm's expected reward per impression is `θc + w · θv`, where
 * `θc` is its click rate and `θv` its conversion rate per impression (clicks and views alike earn conversions, so
 * impressions, not clicks, are the trials). Each rate has its own Beta posterior and a decision draws both and ranks
 * arms by the sum: Thompson sampling of the expected reward. This keeps the click signal, which is plentiful and
 * fast, and adds the rarer conversion signal the advertiser actually pays for; two creatives with equal click rates
 * are told apart by their conversions. (Counting "click or conversion" as one success would not: most conversions
 * follow a click, so it would barely move.) The conversion rate's prior is the scope's pooled rate (its conversions
 * over its impressions in the window) worth `priorWeight` impressions, so a new arm starts at the campaign's average.
 * A scope with no conversion in the window draws the click rates alone, exactly as before: without conversions the
 * second posterior is the same for every arm and would only add noise.
 *
 * @since 0.1.0
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import type { Arm, Choice, Chooser } from "./Chooser.js"
import { beta } from "./internal/learning-random.js"
import type { Rng } from "./Rng.js"

/**
 * The parameters.
 *
 * - `window` (ms, default 24 hours) and `buckets` (default 24): the posterior counts the impressions and clicks of
 *   the last `buckets` buckets of `window / buckets` ms (the current bucket included), so data ages out one bucket at
 *   a time.
 * - `priorWeight` (n0, default 10): how many impressions the prior is worth. Small: the data takes over quickly;
 *   large: a strong belief in the click-through model.
 * - `propensityDraws` (D, default 200): extra Thompson rounds drawn (from the same `Rng`) to estimate the
 *   propensity. If the chosen arm wins W of them, the logged propensity is `(W + 1) / (D + 1)`: never 0, within
 *   about `√(p(1 − p) / D)` of the true p (±0.035 at p = 0.5, ±0.015 at p = 0.05 with the default) and biased up
 *   by at most `1 / (D + 1)`. Its reciprocal, the weight IPS uses, is unbiased for `1 / p` up to a factor
 *   `1 − (1 − p)^(D+1)` (E[1/(W+1)] = (1 − (1 − p)^(D+1)) / ((D + 1)p)): negligible for p above a few `1/D`,
 *   so off-policy estimates stay close to unbiased. Cost: `(D + 1) · K` Beta draws per decision (about 0.6 µs
 *   each), so lower D for many arms or tight latency, raise it for precise logs of rarely chosen arms.
 * - `minPropensity` (default 0.001): a floor on the logged propensity (the estimate above is already at least
 *   `1 / (D + 1)`), bounding inverse-propensity weights.
 * - `exploration` (ε, default 0): with probability ε the arm is drawn uniformly instead, which guarantees every arm a
 *   propensity of at least ε/K (logs that can evaluate any policy) at a cost in clicks.
 * - `conversionWeight` (w, default 10): what a conversion is worth in clicks in the reward `click + w · conversion`
 *   (0 ignores conversions).
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  readonly window: number
  readonly buckets: number
  readonly priorWeight: number
  readonly propensityDraws: number
  readonly minPropensity: number
  readonly exploration: number
  readonly conversionWeight: number
}

/**
 * The default parameters.
 *
 * @since 0.1.0
 * @category models
 */
export const defaults: Options = {
  window: 24 * 60 * 60 * 1000,
  buckets: 24,
  priorWeight: 10,
  propensityDraws: 200,
  minPropensity: 0.001,
  exploration: 0,
  conversionWeight: 10
}

/**
 * An arm's impressions and clicks in the window (clicks never exceed impressions: a bucket's extra clicks, from a
 * lost impression, are not counted).
 *
 * @since 0.1.0
 * @category models
 */
export interface Counts {
  readonly impressions: number
  readonly clicks: number
}

/**
 * An arm's posterior: `Beta(alpha, beta)` and the counts behind it.
 *
 * @since 0.1.0
 * @category models
 */
export interface Posterior extends Counts {
  readonly alpha: number
  readonly beta: number
}

/**
 * An arm's conversion-rate posterior: `Beta(alpha, beta)` over conversions per impression, and the counts behind it
 * (conversions never exceed impressions, bucket by bucket).
 *
 * @since 0.1.0
 * @category models
 */
export interface ConversionPosterior {
  readonly impressions: number
  readonly conversions: number
  readonly alpha: number
  readonly beta: number
}

/**
 * A Thompson sampler. As a `Chooser` it decides as of the latest impression it has counted; `at(now)` gives a
 * chooser for an explicit time (or `current` for `Clock`'s). The window slides with the latest impression: feedback
 * older than the window before it is refused, so pass times from one clock. Like every `Chooser` it needs at least
 * one arm (an empty list throws).
 *
 * @since 0.1.0
 * @category models
 */
export interface Thompson extends Chooser {
  readonly options: Options
  /** A chooser deciding with the window as of `now` (ms since the epoch). */
  readonly at: (now: number) => Chooser
  /** Counts an impression of `armId` in `scope` shown at `at`; false if `at` has left the window (or is not finite). */
  readonly impression: (scope: string, armId: string, at: number) => boolean
  /** Counts a click on the impression shown at `at` (the decision's time, not the click's); false if aged out. */
  readonly click: (scope: string, armId: string, at: number) => boolean
  /**
   * Counts a conversion attributed to the impression shown at `at` (the decision's time, not the conversion's): a
   * delayed reward; false if aged out.
   */
  readonly conversion: (scope: string, armId: string, at: number) => boolean
  /** The conversions of an arm in the window as of `now` (at most its impressions, bucket by bucket). */
  readonly conversions: (scope: string, armId: string, now: number) => number
  /** The conversion-rate posterior of an arm as of `now` (its prior: the scope's pooled conversion rate). */
  readonly conversionPosterior: (scope: string, armId: string, now: number) => ConversionPosterior
  /** An impression and, when `clicked`, its click: for outcomes known at once. */
  readonly observe: (scope: string, armId: string, at: number, clicked: boolean) => boolean
  /** The counts of an arm in the window as of `now`. */
  readonly counts: (scope: string, armId: string, now: number) => Counts
  /** The posterior of an arm as of `now`. */
  readonly posterior: (scope: string, arm: Arm, now: number) => Posterior
  /** Forgets a scope (a campaign that ended). */
  readonly forget: (scope: string) => void
  /** Drops the arms with nothing in the window as of `now`, to bound memory. */
  readonly prune: (now: number) => void
  /** The state, for persistence (see `State`): every bucket held; `prune` first to leave out aged arms. */
  readonly exportState: () => State
}

/**
 * Why a sampler could not be made or restored: `InvalidOptions` or `CorruptState`.
 *
 * @since 0.1.0
 * @category errors
 */
export class ThompsonError extends Schema.TaggedError<ThompsonError>("@openaudience/ad-selector/ThompsonError")(
  "ThompsonError",
  {
    reason: Schema.Literal("InvalidOptions", "CorruptState"),
    message: Schema.String
  }
) {}

const NonNegative = Schema.Number.pipe(Schema.finite(), Schema.nonNegative())

/**
 * The persisted state (plain JSON): the window's shape, the latest impression's time (null before the first), and
 * per arm the buckets it holds as
 * `[bucket, impressions, clicks, conversions]` (bucket = ⌊time / bucket width⌋; conversions absent in states saved
 * before they were counted).
 *
 * @since 0.1.0
 * @category models
 */
export const State = Schema.Struct({
  format: Schema.Literal("thompson-window/1"),
  window: Schema.Number.pipe(Schema.finite(), Schema.positive()),
  buckets: Schema.Int.pipe(Schema.between(1, 100_000)),
  latest: Schema.NullOr(Schema.Number.pipe(Schema.finite())),
  arms: Schema.Array(
    Schema.Struct({
      scope: Schema.String,
      arm: Schema.String,
      buckets: Schema.Array(Schema.Tuple(Schema.Int, NonNegative, NonNegative, Schema.optionalElement(NonNegative)))
    })
  )
})

/**
 * The persisted state.
 *
 * @since 0.1.0
 * @category models
 */
export type State = typeof State.Type

interface Slots {
  readonly epochs: Float64Array
  readonly impressions: Float64Array
  readonly clicks: Float64Array
  readonly conversions: Float64Array
}

const invalidOptions = (o: Options): string | undefined => {
  if (!(Number.isFinite(o.window) && o.window > 0)) return `window must be a positive number of ms, got ${o.window}`
  if (!Number.isInteger(o.buckets) || o.buckets < 1 || o.buckets > 100_000) {
    return `buckets must be an integer in 1..100000, got ${o.buckets}`
  }
  if (!(Number.isFinite(o.priorWeight) && o.priorWeight > 0)) {
    return `priorWeight must be a positive number, got ${o.priorWeight}`
  }
  if (!Number.isInteger(o.propensityDraws) || o.propensityDraws < 1) {
    return `propensityDraws must be a positive integer, got ${o.propensityDraws}`
  }
  if (!(o.minPropensity > 0 && o.minPropensity <= 1)) return `minPropensity must be in (0, 1], got ${o.minPropensity}`
  if (!(o.exploration >= 0 && o.exploration <= 1)) return `exploration must be in [0, 1], got ${o.exploration}`
  if (!(Number.isFinite(o.conversionWeight) && o.conversionWeight >= 0)) {
    return `conversionWeight must be a non-negative number, got ${o.conversionWeight}`
  }
  return undefined
}

/**
 * A sampler with no data, or why the options are out of range.
 *
 * @since 0.1.0
 * @category constructors
 */
export const validate = (options: Partial<Options> = {}): Either.Either<Thompson, ThompsonError> => {
  const full: Options = { ...defaults, ...options }
  const problem = invalidOptions(full)
  return problem === undefined
    ? Either.right(build(full))
    : Either.left(new ThompsonError({ reason: "InvalidOptions", message: problem }))
}

/**
 * A sampler with no data. Options are configuration: out-of-range values throw a `ThompsonError`
 * (`InvalidOptions`); use `validate` when they come from outside.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: Partial<Options> = {}): Thompson => Either.getOrThrow(validate(options))

/**
 * A sampler from `exportState`'s output (of unknown shape: read from storage), or a `CorruptState` error. The
 * window and buckets are the state's; options that name different ones are an `InvalidOptions` error.
 *
 * @since 0.1.0
 * @category constructors
 */
export const restore = (state: unknown, options: Partial<Options> = {}): Either.Either<Thompson, ThompsonError> => {
  const decoded = Schema.decodeUnknownEither(State)(state)
  if (Either.isLeft(decoded)) {
    return Either.left(new ThompsonError({ reason: "CorruptState", message: "not a saved Thompson sampler state" }))
  }
  const s = decoded.right
  if (
    (options.window !== undefined && options.window !== s.window) ||
    (options.buckets !== undefined && options.buckets !== s.buckets)
  ) {
    return Either.left(
      new ThompsonError({
        reason: "InvalidOptions",
        message: `the state has a window of ${s.window} ms in ${s.buckets} buckets; the options name another`
      })
    )
  }
  return Either.flatMap(validate({ ...options, window: s.window, buckets: s.buckets }), (t) => {
    const internal = t as Thompson & { readonly load: (state: State) => void }
    internal.load(s)
    return Either.right(t)
  })
}

/**
 * A chooser deciding with the window as of `Clock`'s current time (deterministic under `TestClock`).
 *
 * @since 0.1.0
 * @category combinators
 */
export const current = (sampler: Thompson): Effect.Effect<Chooser> =>
  Effect.map(Clock.currentTimeMillis, (now) => sampler.at(now))

const priorFloor = 1e-6

/** The bucket number of a slot that holds nothing (a safe integer: V8 compares them faster than infinities). */
const empty = Number.MIN_SAFE_INTEGER

/** The prior, forced into [1e-6, 1 − 1e-6] (NaN counts as 0.5), so a hostile prior cannot break sampling. */
const safePrior = (prior: number): number =>
  typeof prior !== "number" || Number.isNaN(prior) ? 0.5 : Math.min(1 - priorFloor, Math.max(priorFloor, prior))

/**
 * One Thompson draw: the arm whose sampled reward (a click-rate sample, plus `weight` times a conversion-rate sample
 * where those posteriors are given) is highest. A module function, not a closure per decision: under tsx
 * (`pnpm start`) every named closure made costs an `Object.defineProperty`.
 */
const draw = (
  rng: Rng,
  a: Float64Array,
  b: Float64Array,
  ca: Float64Array | undefined,
  cb: Float64Array | undefined,
  weight: number
): number => {
  let best = 0
  let bestValue = -1
  for (let i = 0; i < a.length; i++) {
    let value = beta(rng, a[i]!, b[i]!)
    if (ca !== undefined) value += weight * beta(rng, ca[i]!, cb![i]!)
    if (value > bestValue) {
      best = i
      bestValue = value
    }
  }
  return best
}

const build = (options: Options): Thompson => {
  const { buckets, conversionWeight, exploration, minPropensity, priorWeight, propensityDraws } = options
  const width = options.window / buckets
  const scopes = new Map<string, Map<string, Slots>>()
  let latest = Number.NEGATIVE_INFINITY

  const epochOf = (time: number): number => Math.floor(time / width)
  const slotOf = (epoch: number): number => ((epoch % buckets) + buckets) % buckets
  const live = (epoch: number, nowEpoch: number): boolean => epoch <= nowEpoch && epoch > nowEpoch - buckets

  const slotsFor = (scope: string, armId: string): Slots => {
    let arms = scopes.get(scope)
    if (arms === undefined) {
      arms = new Map()
      scopes.set(scope, arms)
    }
    let slots = arms.get(armId)
    if (slots === undefined) {
      slots = {
        epochs: new Float64Array(buckets).fill(empty),
        impressions: new Float64Array(buckets),
        clicks: new Float64Array(buckets),
        conversions: new Float64Array(buckets)
      }
      arms.set(armId, slots)
    }
    return slots
  }

  const add = (
    scope: string,
    armId: string,
    at: number,
    impressions: number,
    clicks: number,
    conversions = 0
  ): boolean => {
    if (!Number.isFinite(at)) return false
    const epoch = epochOf(at)
    if (!Number.isSafeInteger(epoch) || epoch === empty) return false
    if (latest > Number.NEGATIVE_INFINITY && epoch <= epochOf(latest) - buckets) return false
    const slots = slotsFor(scope, armId)
    const s = slotOf(epoch)
    const held = slots.epochs[s]!
    // The slot holds a newer bucket: `epoch` is older than the window of that arm's newest data.
    if (held > epoch) return false
    if (held < epoch) {
      slots.epochs[s] = epoch
      slots.impressions[s] = 0
      slots.clicks[s] = 0
      slots.conversions[s] = 0
    }
    slots.impressions[s] = slots.impressions[s]! + impressions
    slots.clicks[s] = slots.clicks[s]! + clicks
    slots.conversions[s] = slots.conversions[s]! + conversions
    if (impressions > 0 && at > latest) latest = at
    return true
  }

  const countsOf = (slots: Slots | undefined, now: number): Counts => {
    if (slots === undefined) return { impressions: 0, clicks: 0 }
    const newest = epochOf(now)
    const oldest = newest - buckets
    const { epochs } = slots
    let impressions = 0
    let clicks = 0
    for (let s = 0; s < buckets; s++) {
      const epoch = epochs[s]!
      if (epoch > newest || epoch <= oldest) continue
      const shown = slots.impressions[s]!
      impressions += shown
      clicks += Math.min(slots.clicks[s]!, shown)
    }
    return { impressions, clicks }
  }

  const counts = (scope: string, armId: string, now: number): Counts => countsOf(scopes.get(scope)?.get(armId), now)

  /** Conversions of an arm in the window, each bucket's capped by its impressions. */
  const conversionsOf = (slots: Slots | undefined, now: number): number => {
    if (slots === undefined) return 0
    const newest = epochOf(now)
    const oldest = newest - buckets
    let conversions = 0
    for (let s = 0; s < buckets; s++) {
      const epoch = slots.epochs[s]!
      if (epoch > newest || epoch <= oldest) continue
      conversions += Math.min(slots.conversions[s]!, slots.impressions[s]!)
    }
    return conversions
  }

  /** The scope's pooled conversion rate in the window, or `undefined` when it has no conversion. */
  const pooledRate = (arms: Map<string, Slots> | undefined, now: number): number | undefined => {
    if (arms === undefined || conversionWeight === 0) return undefined
    let impressions = 0
    let conversions = 0
    for (const slots of arms.values()) {
      conversions += conversionsOf(slots, now)
      impressions += countsOf(slots, now).impressions
    }
    return conversions > 0 ? conversions / impressions : undefined
  }

  const conversionPosteriorOf = (slots: Slots | undefined, pooled: number, now: number): ConversionPosterior => {
    const impressions = countsOf(slots, now).impressions
    const conversions = conversionsOf(slots, now)
    const p = safePrior(pooled)
    return {
      impressions,
      conversions,
      alpha: p * priorWeight + conversions,
      beta: (1 - p) * priorWeight + (impressions - conversions)
    }
  }

  const posteriorOf = (slots: Slots | undefined, prior: number, now: number): Posterior => {
    const c = countsOf(slots, now)
    const p = safePrior(prior)
    const { clicks, impressions } = c
    return {
      impressions,
      clicks,
      alpha: p * priorWeight + clicks,
      beta: (1 - p) * priorWeight + (impressions - clicks)
    }
  }

  const chooseAt =
    (now: number) =>
    (scope: string, arms: ReadonlyArray<Arm>, rng: Rng): Choice => {
      const k = arms.length
      if (k === 0) throw new Error("Thompson.choose: no arms to choose from")
      // The same id listed twice is one choice: its propensity is the probability of either entry.
      const first = arms[0]!.id
      let copies = 0
      for (let i = 0; i < k; i++) if (arms[i]!.id === first) copies++
      if (copies === k) return { id: first, propensity: 1 }
      const known = scopes.get(scope)
      const a = new Float64Array(k)
      const b = new Float64Array(k)
      for (let i = 0; i < k; i++) {
        const post = posteriorOf(known?.get(arms[i]!.id), arms[i]!.prior, now)
        a[i] = post.alpha
        b[i] = post.beta
      }
      const pooled = pooledRate(known, now)
      const ca = pooled === undefined ? undefined : new Float64Array(k)
      const cb = pooled === undefined ? undefined : new Float64Array(k)
      if (ca !== undefined && cb !== undefined) {
        for (let i = 0; i < k; i++) {
          const post = conversionPosteriorOf(known?.get(arms[i]!.id), pooled!, now)
          ca[i] = post.alpha
          cb[i] = post.beta
        }
      }
      const explore = exploration > 0 && rng.next() < exploration
      const chosen =
        arms[explore ? Math.min(k - 1, Math.floor(rng.next() * k)) : draw(rng, a, b, ca, cb, conversionWeight)]!.id
      let wins = 0
      for (let d = 0; d < propensityDraws; d++)
        if (arms[draw(rng, a, b, ca, cb, conversionWeight)]!.id === chosen) wins++
      let listed = 0
      for (let i = 0; i < k; i++) if (arms[i]!.id === chosen) listed++
      const p = (exploration * listed) / k + (1 - exploration) * ((wins + 1) / (propensityDraws + 1))
      return { id: chosen, propensity: Math.min(1, Math.max(minPropensity, p)) }
    }

  const load = (state: State): void => {
    latest = state.latest ?? Number.NEGATIVE_INFINITY
    for (const entry of state.arms) {
      for (const [epoch, impressions, clicks, conversions = 0] of entry.buckets) {
        if (!Number.isSafeInteger(epoch) || epoch === empty) continue
        const slots = slotsFor(entry.scope, entry.arm)
        const s = slotOf(epoch)
        if (slots.epochs[s]! > epoch) continue
        if (slots.epochs[s]! < epoch) {
          slots.epochs[s] = epoch
          slots.impressions[s] = 0
          slots.clicks[s] = 0
          slots.conversions[s] = 0
        }
        slots.impressions[s] = slots.impressions[s]! + impressions
        slots.clicks[s] = slots.clicks[s]! + clicks
        slots.conversions[s] = slots.conversions[s]! + conversions
      }
    }
  }

  const prune = (now: number): void => {
    const nowEpoch = epochOf(now)
    for (const [scope, arms] of scopes) {
      for (const [armId, slots] of arms) if (!slots.epochs.some((e) => live(e, nowEpoch))) arms.delete(armId)
      if (arms.size === 0) scopes.delete(scope)
    }
  }

  const exportState = (): State => {
    const arms: Array<State["arms"][number]> = []
    for (const [scope, bySlot] of scopes) {
      for (const [arm, slots] of bySlot) {
        const kept: Array<readonly [number, number, number, number?]> = []
        for (let s = 0; s < buckets; s++) {
          const epoch = slots.epochs[s]!
          if (epoch === empty) continue
          const conversions = slots.conversions[s]!
          kept.push(
            conversions > 0
              ? [epoch, slots.impressions[s]!, slots.clicks[s]!, conversions]
              : [epoch, slots.impressions[s]!, slots.clicks[s]!]
          )
        }
        kept.sort((x, y) => x[0] - y[0])
        if (kept.length > 0) arms.push({ scope, arm, buckets: kept })
      }
    }
    const saved = Number.isFinite(latest) ? latest : null
    return { format: "thompson-window/1", window: options.window, buckets, latest: saved, arms }
  }

  const sampler: Thompson & { readonly load: (state: State) => void } = {
    options,
    choose: (scope, arms, rng) => chooseAt(latest)(scope, arms, rng),
    at: (now) => ({ choose: chooseAt(now) }),
    impression: (scope, armId, at) => add(scope, armId, at, 1, 0),
    click: (scope, armId, at) => add(scope, armId, at, 0, 1),
    conversion: (scope, armId, at) => add(scope, armId, at, 0, 0, 1),
    conversions: (scope, armId, now) => conversionsOf(scopes.get(scope)?.get(armId), now),
    conversionPosterior: (scope, armId, now) => {
      const arms = scopes.get(scope)
      return conversionPosteriorOf(arms?.get(armId), pooledRate(arms, now) ?? 0, now)
    },
    observe: (scope, armId, at, clicked) => add(scope, armId, at, 1, clicked ? 1 : 0),
    counts,
    posterior: (scope, arm, now) => posteriorOf(scopes.get(scope)?.get(arm.id), arm.prior, now),
    forget: (scope) => {
      scopes.delete(scope)
    },
    prune,
    exportState,
    load
  }
  return sampler
}
