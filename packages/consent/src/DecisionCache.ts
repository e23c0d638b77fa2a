/**
 * Consent strings repeat heavily in real traffic: the same CMP writes the same TC and GPP strings for every page
 * a visitor sees. A DecisionCache decodes each distinct string once and keeps the result (success or failure) in
 * bounded least-recently-used maps keyed by the string's value, so a decision costs a few map lookups. Its
 * decisions are identical to `Decision.decide`'s; only the work differs.
 *
 * The cache is plain mutable state for the hot path: create one per process (or per worker) and share it.
 *
 * @since 0.1.0
 */
import type * as Either from "effect/Either"
import type { ConsentStringError } from "./ConsentStringError.js"
import type { ConsentDecision } from "./Decision.js"
import type * as Gpp from "./Gpp.js"
import * as Internal from "./internal/decide.js"
import { LRUCache } from "lru-cache"
import type { Jurisdiction } from "./Jurisdiction.js"
import type { Policy } from "./Policy.js"
import type { Signals } from "./Signals.js"
import * as Tcf from "./Tcf.js"
import type * as Usp from "./Usp.js"

/**
 * A decision function with memory of the strings it decoded.
 *
 * @since 0.1.0
 * @category models
 */
export interface DecisionCache {
  /** Most entries kept per kind of string (TC, GPP, US Privacy). */
  readonly capacity: number
  /** Same as `Decision.decide`, with each distinct string decoded once while it stays cached. */
  readonly decide: (signals: Signals, policy: Policy, jurisdiction: Jurisdiction) => ConsentDecision
  /** How many strings of each kind are cached, how many decodes ran in all, and the estimated bytes held. */
  readonly stats: () => {
    readonly tcf: number
    readonly gpp: number
    readonly usp: number
    readonly decodes: number
    readonly bytes: number
  }
  /** Forgets every cached string. */
  readonly clear: () => void
}

/**
 * Default capacity: distinct strings kept per kind.
 *
 * @since 0.1.0
 * @category constants
 */
export const DefaultCapacity = 10_000

/**
 * Default memory budget per kind of string, in estimated bytes of the strings and their decoded form. It bounds
 * what hostile strings (long, or with thousands of vendor ranges) can pin in memory: about 3 × 32 MB at most.
 *
 * @since 0.1.0
 * @category constants
 */
export const DefaultMaxBytes = 32 * 1024 * 1024

/** Rough bytes of a decoded TC string: a fixed part plus each vendor range (a two-element array). */
const tcBytes = (tc: Tcf.TcData): number => {
  let ranges = tc.vendorConsents.ranges.length + tc.vendorLegitimateInterests.ranges.length
  ranges += tc.disclosedVendors?.ranges.length ?? 0
  for (const restriction of tc.publisherRestrictions) ranges += restriction.vendors.length
  return 1_024 + 48 * ranges
}

const ENTRY_BYTES = 256

const weigh =
  <A>(decodedBytes: (a: A) => number) =>
  (key: string, result: Either.Either<A, ConsentStringError>): number =>
    ENTRY_BYTES + 2 * key.length + (result._tag === "Right" ? decodedBytes(result.right) : 512)

/**
 * A new cache keeping at most `capacity` strings of each kind (a non-positive capacity caches nothing), and at
 * most `maxBytes` (estimated) of strings and decoded data per kind.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (capacity: number = DefaultCapacity, maxBytes: number = DefaultMaxBytes): DecisionCache => {
  const size = Number.isFinite(capacity) ? Math.max(0, Math.floor(capacity)) : DefaultCapacity
  const budget = Number.isNaN(maxBytes) ? DefaultMaxBytes : Math.max(0, maxBytes)
  // lru-cache, bounded by entries and by the estimated bytes of each entry; with no room at all, nothing is kept.
  const lru = <A>() =>
    size > 0 && budget > 0
      ? new LRUCache<string, Either.Either<A, ConsentStringError>>({ max: size, maxSize: budget })
      : undefined
  const tcf = lru<Tcf.TcData>()
  const gpp = lru<Gpp.GppData>()
  const usp = lru<Usp.UspData>()
  // Activities per decoded TC string and vendor id; entries live as long as the decoded string is referenced.
  let explained = new WeakMap<Tcf.TcData, Map<number, Tcf.Explained>>()
  let decodes = 0

  const cached =
    <A>(
      lru: LRUCache<string, Either.Either<A, ConsentStringError>> | undefined,
      decode: (s: string) => Either.Either<A, ConsentStringError>,
      weight: (key: string, result: Either.Either<A, ConsentStringError>) => number
    ) =>
    (value: string): Either.Either<A, ConsentStringError> => {
      const hit = lru?.get(value)
      if (hit !== undefined) return hit
      decodes++
      const result = decode(value)
      lru?.set(value, result, { size: Math.max(1, Math.ceil(weight(value, result))) })
      return result
    }

  const decoders: Internal.Decoders = {
    tcf: cached(tcf, Internal.direct.tcf, weigh(tcBytes)),
    gpp: cached(
      gpp,
      Internal.direct.gpp,
      weigh((data: Gpp.GppData) => (data.tcfeuv2 === undefined ? 0 : tcBytes(data.tcfeuv2)) + 2_048 * data.us.length)
    ),
    usp: cached(
      usp,
      Internal.direct.usp,
      weigh(() => 0)
    ),
    explain: (tc, vendorId) => {
      let byVendor = explained.get(tc)
      if (byVendor === undefined) {
        byVendor = new Map()
        explained.set(tc, byVendor)
      }
      let result = byVendor.get(vendorId)
      if (result === undefined) {
        result = Tcf.explain(tc, vendorId)
        byVendor.set(vendorId, result)
      }
      return result
    }
  }

  return {
    capacity: size,
    decide: (signals, policy, jurisdiction) => Internal.decide(decoders, signals, policy, jurisdiction),
    stats: () => ({
      tcf: tcf?.size ?? 0,
      gpp: gpp?.size ?? 0,
      usp: usp?.size ?? 0,
      decodes,
      bytes: (tcf?.calculatedSize ?? 0) + (gpp?.calculatedSize ?? 0) + (usp?.calculatedSize ?? 0)
    }),
    clear: () => {
      tcf?.clear()
      gpp?.clear()
      usp?.clear()
      explained = new WeakMap()
    }
  }
}
