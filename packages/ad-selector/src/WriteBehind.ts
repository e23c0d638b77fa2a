/**
 * Write-behind for the ad server's two writes per answer: the decision it logs (`AdLog.recordDecision`) and the
 * budget it charges (`Budget.DeliveryStore.charge`). Stored one by one, each was a commit of its own on the request's
 * path (two disk syncs per `GET /ad` on SQLite: about 480 answers a second on the benchmark machine). Here both go
 * to the stores in groups, every `interval` (50 ms by default), in one `transaction` when one is given (or as one unit
 * by `store`, which may write both elsewhere, on a thread of its own say, and answer the charged campaigns' spend),
 * and the answer never waits for a disk.
 *
 * What each keeps:
 * - **Decisions** wait in memory until the next flush. `decision(id)` answers from memory meanwhile; every other read
 *   of the log (impressions, clicks, touches, statistics, conversions, erasure) flushes first, so it sees them. A
 *   process that dies loses at most the last interval's decisions: their ads were shown, but a click on one finds no
 *   decision (the click page says the link expired) and they are not counted. More than `maxPending` waiting
 *   decisions (10,000 by default: the stores are down) are written through, one by one, as before.
 * - **Budgets** are charged against a ledger in memory: the spend last read from the store, plus what this process
 *   charged since (in flight to the store or not yet sent). A charge that would pass a daily or total limit is
 *   refused, exactly as the store would refuse it, so one process never overspends. Each flush adds this process's
 *   charges to the store (one update per campaign) and reads those campaigns' spend back, so the ledger also sees
 *   what other processes spent; the other campaigns of the ledger are read back once a second. Several processes
 *   serving one campaign can together pass its budget by at most what the others charged since the last read back.
 *   Campaigns not charged for a minute leave the ledger and are read again when needed.
 *   A process that dies loses its last interval's charges too: the stored spend is short by them.
 * - A flush that fails keeps everything for the next one (a decision the store refuses as invalid is dropped and
 *   logged); releasing the layer flushes what is left.
 *
 * `layer` wraps the `AdLog` and `DeliveryStore` in context and provides the wrapped ones, with `WriteBehind`, whose
 * `flush` an app calls where it must see everything stored (before a data-subject erasure, say).
 *
 * @since 0.5.0
 */
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import * as AdLog from "./AdLog.js"
import * as Budget from "./Budget.js"
import { DAY, dayIndex } from "./internal/calendar.js"

/** `accept`'s answer when a group would pass `maxPending`. */
const full: unique symbol = Symbol("full")

/**
 * Settings of `layer`.
 *
 * @since 0.5.0
 * @category models
 */
export interface Options {
  /** How often waiting writes go to the stores; default 50 ms. */
  readonly interval?: Duration.DurationInput | undefined
  /** Decisions that may wait; beyond, they are written through. Default 10,000. */
  readonly maxPending?: number | undefined
  /**
   * Runs one flush's writes as one unit (for SQL, `sql.withTransaction`): one commit per flush instead of one per
   * write. Without it each write commits alone.
   */
  readonly transaction?: (<A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E | Failure, R>) | undefined
  /**
   * Stores one flush's decisions and budget charges together, as one unit, in place of `transaction` around the
   * stores' own `recordDecisions` and `charge` (a store that writes both elsewhere, for example on a thread of its
   * own). Each charge adds its cost with no limit: the ledger checked the limits already. Answers `undefined` when it
   * cannot now; the flush then goes through the stores. A failure is a failed flush (see `Failure`). It may answer
   * the deliveries of the campaigns it charged, read in the same unit after the charges: those are not read back.
   */
  readonly store?:
    | ((
        decisions: ReadonlyArray<AdLog.DecisionRecord>,
        charges: ReadonlyArray<Charge>
      ) => Effect.Effect<ReadonlyMap<string, Budget.Delivery> | undefined, { readonly message: string }> | undefined)
    | undefined
}

/**
 * What one flush charges a campaign: `cost` (millis) at `at` (epoch ms), added with no limit.
 *
 * @since 0.9.0
 * @category models
 */
export interface Charge {
  readonly campaignId: string
  readonly cost: number
  readonly at: number
}

/**
 * A flush failed (the stores were unavailable): what waited still waits.
 *
 * @since 0.5.0
 * @category models
 */
export interface Failure {
  readonly message: string
}

/**
 * The write-behind's handle: `flush` stores everything waiting now.
 *
 * @since 0.5.0
 * @category models
 */
export interface Service {
  readonly flush: Effect.Effect<void, Failure>
  /** Decisions, and campaigns with charges, waiting for the next flush. */
  readonly pending: () => { readonly decisions: number; readonly charges: number }
}

/**
 * The write-behind's service tag.
 *
 * @since 0.5.0
 * @category tags
 */
export class WriteBehind extends Context.Tag("@openaudience/ad-selector/WriteBehind")<WriteBehind, Service>() {}

/** Charges per UTC day index, in millis. */
type ByDay = Map<number, number>

interface Ledger {
  /** The delivery last read from the store. */
  base: Budget.Delivery
  /** Charged here and being written by the running flush. */
  inFlight: ByDay
  /** Charged here since. */
  pending: ByDay
  lastUsed: number
}

const addTo = (days: ByDay, day: number, cost: number) => days.set(day, (days.get(day) ?? 0) + cost)

/**
 * The spend of `spend` plus the charges of `days`: `Budget.add` for each day, except that a day before the spend's own
 * adds to the total only. The result does not depend on the order the days come in.
 */
const plus = (spend: Budget.Spend, ...days: ReadonlyArray<ByDay>): Budget.Spend => {
  let out = spend
  for (const map of days) {
    for (const [day, cost] of map) {
      out =
        day < out.day ? { day: out.day, today: out.today, total: out.total + cost } : Budget.add(out, cost, day * DAY)
    }
  }
  return out
}

/** What a flush charges a campaign: the sum of its days, at the latest (at midnight, yesterday's rest counts today). */
const toCharge = (days: ByDay): { readonly cost: number; readonly at: number } => {
  let cost = 0
  let last = 0
  for (const [day, c] of days) {
    cost += c
    if (day > last) last = day
  }
  return { cost, at: last * DAY }
}

const idleMs = 60_000

/** How often the spend of every campaign in the ledger is read back (others' charges), not only of those just charged. */
const fullRefreshMs = 1_000

/** A flush adds what was already checked against the limits here. */
const unlimited: Budget.Limits = { daily: undefined, total: undefined }

const messageOf = (error: unknown): string =>
  typeof error === "object" && error !== null && "message" in error ? String(error.message) : String(error)

/**
 * Wraps an ad log and a delivery store (see the module docs). The wrapped services are for one process; `flush` runs
 * one flush at a time.
 *
 * @since 0.5.0
 * @category constructors
 */
export const make = (
  log: AdLog.Service,
  delivery: Budget.Service,
  options: Options = {}
): Effect.Effect<{ readonly log: AdLog.Service; readonly delivery: Budget.Service; readonly service: Service }> =>
  Effect.gen(function* () {
    const maxPending = options.maxPending ?? 10_000
    const transaction = options.transaction ?? (<A, E, R>(effect: Effect.Effect<A, E, R>) => effect)
    const lock = yield* Effect.makeSemaphore(1)
    // Decisions waiting for the next flush, and those the running flush is writing. A flush takes the whole map and
    // starts a new one: nothing is deleted from a map, whose deleted entries V8 keeps as holes until it rebuilds the
    // table (the ad server's main thread spent 2-3 % of its time in these maps when a flush deleted its entries).
    let decisions = new Map<string, AdLog.DecisionRecord>()
    const none: ReadonlyMap<string, AdLog.DecisionRecord> = new Map()
    let flushing = none
    const ledgers = new Map<string, Ledger>()

    const ledgerOf = (id: string, now: number) =>
      Effect.gen(function* () {
        const known = ledgers.get(id)
        if (known !== undefined) {
          known.lastUsed = now
          return known
        }
        const base = yield* delivery.read(id)
        // Another fiber may have read it meanwhile: keep the first, which may already hold charges.
        const raced = ledgers.get(id)
        if (raced !== undefined) return raced
        const ledger: Ledger = { base, inFlight: new Map(), pending: new Map(), lastUsed: now }
        ledgers.set(id, ledger)
        return ledger
      })

    const writeDecisions = (batch: ReadonlyArray<AdLog.DecisionRecord>) =>
      batch.length === 0 ? Effect.void : log.recordDecisions(batch)

    /** One decision at a time after a group failed: invalid ones are dropped, the rest wait for the next flush. */
    const oneByOne = (batch: ReadonlyArray<AdLog.DecisionRecord>) =>
      Effect.forEach(
        batch,
        (decision) =>
          log.recordDecision(decision).pipe(
            Effect.catchAll((error) =>
              error.reason === "InvalidInput"
                ? Effect.logWarning(`ad decision ${decision.id} dropped: ${error.message}`)
                : Effect.sync(() => {
                    if (!decisions.has(decision.id)) decisions.set(decision.id, decision)
                  })
            )
          ),
        { discard: true }
      )

    const flushOnce = Effect.gen(function* () {
      flushing = decisions
      decisions = new Map()
      const batch = [...flushing.values()]
      const charged: Array<[string, Ledger]> = []
      for (const [id, ledger] of ledgers) {
        if (ledger.pending.size === 0) continue
        ledger.inFlight = ledger.pending
        ledger.pending = new Map()
        charged.push([id, ledger])
      }
      if (batch.length === 0 && charged.length === 0) return yield* refresh([])
      const charges = charged.map(([campaignId, ledger]): Charge => ({ campaignId, ...toCharge(ledger.inFlight) }))
      const written = yield* Effect.either(
        options.store?.(batch, charges) ??
          transaction(
            Effect.zipRight(
              writeDecisions(batch),
              Effect.forEach(charges, (c) => delivery.charge(c.campaignId, c.cost, unlimited, c.at), { discard: true })
            )
          )
      )
      if (written._tag === "Left") {
        // The charges wait for the next flush. Without a transaction some may have been stored: counted twice until
        // the next read back, which errs towards spending less, never more.
        for (const [, ledger] of charged) {
          for (const [day, cost] of ledger.inFlight) addTo(ledger.pending, day, cost)
          ledger.inFlight = new Map()
        }
        yield* Effect.logWarning(`ad write-behind: a flush failed; retrying: ${messageOf(written.left)}`)
        if (batch.length > 0) yield* oneByOne(batch)
        flushing = none
        return yield* Effect.fail<Failure>({ message: messageOf(written.left) })
      }
      flushing = none
      yield* refresh(charged, written.right ?? undefined)
    })

    /** A campaign's spend as stored now, which holds what was in flight: both are replaced at once. */
    const settle = (id: string, ledger: Ledger, stored: Budget.Delivery) => {
      if (ledgers.get(id) === ledger) {
        ledger.base = stored
        ledger.inFlight = new Map()
      }
    }

    /** Reads a campaign's spend back (see `settle`). */
    const readBack = (id: string, ledger: Ledger) =>
      Effect.flatMap(Effect.either(delivery.read(id)), (read) =>
        Effect.sync(() => {
          if (read._tag === "Right") settle(id, ledger, read.right)
        })
      )

    let lastFullRefresh = Number.NEGATIVE_INFINITY

    /**
     * Reads back the campaigns just charged (`charged`), but those whose delivery the flush's store answered
     * (`stored`); once a second every campaign of the ledger too (what other processes spent), forgetting those
     * unused for a minute.
     */
    const refresh = (
      charged: ReadonlyArray<readonly [string, Ledger]>,
      stored?: ReadonlyMap<string, Budget.Delivery>
    ) =>
      Effect.gen(function* () {
        for (const [id, ledger] of charged) {
          const known = stored?.get(id)
          if (known !== undefined) settle(id, ledger, known)
          else yield* readBack(id, ledger)
        }
        const now = yield* Clock.currentTimeMillis
        if (now - lastFullRefresh < fullRefreshMs) return
        lastFullRefresh = now
        const just = new Set(charged.map(([id]) => id))
        for (const [id, ledger] of [...ledgers]) {
          if (just.has(id)) continue
          if (ledger.pending.size === 0 && ledger.inFlight.size === 0 && now - ledger.lastUsed > idleMs) {
            ledgers.delete(id)
            continue
          }
          yield* readBack(id, ledger)
        }
      })

    // Whatever ends a flush (an interruption included), what it took is no longer being written.
    const flush: Effect.Effect<void, Failure> = lock.withPermits(1)(
      Effect.onExit(flushOnce, () =>
        Effect.sync(() => {
          if (flushing === none) return
          // Interrupted while writing: the rows may or may not be stored; they wait again (a duplicate id on the next
          // flush sends them one by one, where the stored ones are refused and dropped).
          for (const [id, decision] of flushing) if (!decisions.has(id)) decisions.set(id, decision)
          flushing = none
        })
      )
    )

    /** Flushes before a read; a failed flush is logged and the read goes on (it may miss what still waits). */
    const flushed = <A, E>(read: Effect.Effect<A, E>): Effect.Effect<A, E> =>
      Effect.zipRight(
        flush.pipe(Effect.catchAll((error) => Effect.logWarning("ad write-behind: flush before a read failed", error))),
        read
      )

    /** Takes a group into memory, all or none: else `full` (it would pass `maxPending`) or the id recorded already. */
    const accept = (batch: ReadonlyArray<AdLog.DecisionRecord>): typeof full | string | undefined => {
      if (decisions.size + flushing.size + batch.length > maxPending) return full
      if (batch.length === 1) {
        const decision = batch[0]!
        if (decisions.has(decision.id) || flushing.has(decision.id)) return decision.id
        decisions.set(decision.id, decision)
        return undefined
      }
      const known = (id: string) => decisions.has(id) || flushing.has(id)
      const ids = new Set<string>()
      for (const decision of batch) {
        if (known(decision.id) || ids.has(decision.id)) return decision.id
        ids.add(decision.id)
      }
      for (const decision of batch) decisions.set(decision.id, decision)
      return undefined
    }
    const recordDecisions = (batch: ReadonlyArray<AdLog.DecisionRecord>) =>
      Effect.suspend(() => {
        const refused = accept(batch)
        if (refused === undefined) return Effect.void
        if (refused === full) return log.recordDecisions(batch)
        return Effect.fail(
          new AdLog.AdLogError({ reason: "InvalidInput", message: `decision ${refused} is recorded already` })
        )
      })

    const wrappedLog: AdLog.Service = {
      recordDecision: (decision) => recordDecisions([decision]),
      recordDecisions,
      unsafeRecordDecision: (decision) => {
        const refused = accept([decision])
        return refused === undefined ? true : refused === full ? undefined : false
      },
      decision: (id) =>
        Effect.suspend(() => {
          const waiting = decisions.get(id) ?? flushing.get(id)
          return waiting !== undefined ? Effect.succeed(Option.some(waiting)) : log.decision(id)
        }),
      recordImpression: (id, kind, at) => flushed(log.recordImpression(id, kind, at)),
      recordClick: (id, at) => flushed(log.recordClick(id, at)),
      touches: (tenant, visitor, since) => flushed(log.touches(tenant, visitor, since)),
      recordConversion: (conversion) => flushed(log.recordConversion(conversion)),
      conversionsSince: (cursor, limit) => log.conversionsSince(cursor, limit),
      conversionCursor: log.conversionCursor,
      dailyStats: (tenant, campaignId, range) => flushed(log.dailyStats(tenant, campaignId, range)),
      eraseVisitor: (tenant, visitor) => flushed(log.eraseVisitor(tenant, visitor))
    }

    const deliveryOf = (ledger: Ledger): Budget.Delivery => ({
      spend: plus(ledger.base.spend, ledger.inFlight, ledger.pending),
      pacing: ledger.base.pacing
    })
    const chargeLedger = (ledger: Ledger, cost: number, limits: Budget.Limits, now: number) => {
      const spend = plus(ledger.base.spend, ledger.inFlight, ledger.pending)
      if (!Budget.fits(spend, cost, limits, now)) return false
      addTo(ledger.pending, dayIndex(now), cost)
      return true
    }
    const wrappedDelivery: Budget.Service = {
      read: (id) =>
        Effect.map(
          Effect.flatMap(Clock.currentTimeMillis, (now) => ledgerOf(id, now)),
          deliveryOf
        ),
      charge: (id, cost, limits, now) =>
        Effect.map(ledgerOf(id, now), (ledger) => chargeLedger(ledger, cost, limits, now)),
      // From the ledger when it holds the campaign, else the effects read it. A read alone keeps no ledger alive
      // (a charge does): one left idle is read again when needed.
      unsafeRead: (id) => {
        const ledger = ledgers.get(id)
        return ledger === undefined ? undefined : deliveryOf(ledger)
      },
      unsafeCharge: (id, cost, limits, now) => {
        const ledger = ledgers.get(id)
        if (ledger === undefined) return undefined
        ledger.lastUsed = now
        return chargeLedger(ledger, cost, limits, now)
      },
      setPacing: (id, state) =>
        Effect.tap(delivery.setPacing(id, state), () =>
          Effect.sync(() => {
            const ledger = ledgers.get(id)
            if (ledger !== undefined) ledger.base = { spend: ledger.base.spend, pacing: state }
          })
        )
    }

    const service: Service = {
      flush,
      pending: () => {
        let charges = 0
        for (const ledger of ledgers.values()) if (ledger.pending.size > 0) charges++
        return { decisions: decisions.size + flushing.size, charges }
      }
    }
    return { log: wrappedLog, delivery: wrappedDelivery, service }
  })

/**
 * The write-behind over the `AdLog` and `DeliveryStore` in context: provides the wrapped ones and `WriteBehind`,
 * flushes every `interval` in a fiber of its own, and once more when released (retrying for a few seconds).
 *
 * @since 0.5.0
 * @category layers
 */
export const layer = (
  options: Options = {}
): Layer.Layer<AdLog.AdLog | Budget.DeliveryStore | WriteBehind, never, AdLog.AdLog | Budget.DeliveryStore> =>
  Layer.scopedContext(
    Effect.gen(function* () {
      const made = yield* make(yield* AdLog.AdLog, yield* Budget.DeliveryStore, options)
      const interval = Duration.decode(options.interval ?? Duration.millis(50))
      yield* Effect.forkScoped(
        made.service.flush.pipe(
          Effect.catchAll(() => Effect.void),
          Effect.repeat(Schedule.spaced(interval))
        )
      )
      yield* Effect.addFinalizer(() =>
        made.service.flush.pipe(
          Effect.retry(Schedule.spaced(Duration.millis(200)).pipe(Schedule.upTo(Duration.seconds(5)))),
          Effect.catchAll((error) => Effect.logError("ad write-behind: writes lost at shutdown", error))
        )
      )
      return Context.make(AdLog.AdLog, made.log)
        .pipe(Context.add(Budget.DeliveryStore, made.delivery))
        .pipe(Context.add(WriteBehind, made.service))
    })
  )
