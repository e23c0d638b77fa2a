/**
 * The online click-through model: logistic regression over hashed features, learned one impression at a time by
 * FTRL-Proximal (McMahan et al., "Ad Click Prediction: a View from the Trenches", KDD 2013, algorithm 1). Its
 * prediction for a context and a creative is the `prior` a `Chooser` gets with each arm, so a creative nobody has
 * seen yet starts from what similar impressions did.
 *
 * Features are strings such as `"site=news.example"`, `"size=300x250"`, `"creative=c1"` and crosses of them
 * (`Ftrl.cross("site=news.example", "creative=c1")`). Each is hashed (MurmurHash3, 32 bits) into one of `2^bits`
 * buckets; a bias feature is added unless `bias: false`. The state is two `Float64Array`s (`z`, `n`) that
 * `encode`/`decode` (bytes) and `toJSON`/`fromJSON` save and restore, so a server can persist what it learned.
 *
 * The model is mutable and synchronous: `update` is the hot path of a click log consumer, `predict` of a decision.
 *
 * @since 0.1.0
 */
import * as Either from "effect/Either"
import * as Encoding from "effect/Encoding"
import * as Schema from "effect/Schema"
import { murmur3 } from "./internal/learning-hash.js"

/**
 * The learning parameters (McMahan et al. 2013, section 3.1).
 *
 * - `bits` (default 18): the model has `2^bits` weights (4..24); collisions grow as features approach that count.
 * - `alpha` (default 0.1) and `beta` (default 1): the per-coordinate learning rate is `alpha / (beta + √Σg²)`.
 *   A larger `alpha` learns faster and noisier.
 * - `l1` (default 1): L1 regularization; a weight whose accumulated evidence stays below it is exactly 0 (sparsity,
 *   and rare features cannot move predictions).
 * - `l2` (default 1): L2 regularization; shrinks weights towards 0.
 * - `baseRate` (default 0.5): the prediction of an untrained model (a fixed offset `logit(baseRate)` added to the
 *   margin). Set it to the network's average click-through rate so cold predictions are sensible from the start.
 * - `bias` (default true): add a bias feature to every example, so the model learns the overall rate.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  readonly bits: number
  readonly alpha: number
  readonly beta: number
  readonly l1: number
  readonly l2: number
  readonly baseRate: number
  readonly bias: boolean
}

/**
 * The default parameters.
 *
 * @since 0.1.0
 * @category models
 */
export const defaults: Options = { bits: 18, alpha: 0.1, beta: 1, l1: 1, l2: 1, baseRate: 0.5, bias: true }

/**
 * A model: its parameters and its per-bucket state (`z`: the FTRL accumulator, `n`: the sum of squared gradients).
 *
 * @since 0.1.0
 * @category models
 */
export interface Ftrl {
  readonly options: Options
  readonly z: Float64Array
  readonly n: Float64Array
}

/**
 * Why a model could not be made or restored: `InvalidOptions` (a parameter out of range) or `CorruptState` (bytes
 * or JSON that are not a saved model).
 *
 * @since 0.1.0
 * @category errors
 */
export class FtrlError extends Schema.TaggedError<FtrlError>("@openaudience/ad-selector/FtrlError")("FtrlError", {
  reason: Schema.Literal("InvalidOptions", "CorruptState"),
  message: Schema.String
}) {}

const invalidOptions = (options: Options): string | undefined => {
  const { alpha, baseRate, beta, bits, l1, l2 } = options
  if (!Number.isInteger(bits) || bits < 4 || bits > 24) return `bits must be an integer in 4..24, got ${bits}`
  if (!(Number.isFinite(alpha) && alpha > 0)) return `alpha must be a positive number, got ${alpha}`
  if (!(Number.isFinite(beta) && beta >= 0)) return `beta must be a number ≥ 0, got ${beta}`
  if (!(Number.isFinite(l1) && l1 >= 0)) return `l1 must be a number ≥ 0, got ${l1}`
  if (!(Number.isFinite(l2) && l2 >= 0)) return `l2 must be a number ≥ 0, got ${l2}`
  if (!(baseRate > 0 && baseRate < 1)) return `baseRate must be in (0, 1), got ${baseRate}`
  if (typeof options.bias !== "boolean") return "bias must be a boolean"
  return undefined
}

/**
 * A new, untrained model. Options are configuration, not input: out-of-range values throw an `FtrlError`
 * (`InvalidOptions`); use `validate` first when they come from outside.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: Partial<Options> = {}): Ftrl => Either.getOrThrow(validate(options))

/**
 * The options completed with the defaults, or why they are out of range.
 *
 * @since 0.1.0
 * @category constructors
 */
export const validate = (options: Partial<Options> = {}): Either.Either<Ftrl, FtrlError> => {
  const full: Options = { ...defaults, ...options }
  const problem = invalidOptions(full)
  if (problem !== undefined) return Either.left(new FtrlError({ reason: "InvalidOptions", message: problem }))
  const size = 2 ** full.bits
  return Either.right({ options: full, z: new Float64Array(size), n: new Float64Array(size) })
}

const biasFeature = "\u0000bias"
const maxMargin = 35

/**
 * The name of the conjunction of two or more features, for crosses such as site × creative.
 *
 * @since 0.1.0
 * @category combinators
 */
export const cross = (...features: ReadonlyArray<string>): string => features.join("&")

/**
 * The bucket a feature is hashed to: the low `bits` of its MurmurHash3.
 *
 * @since 0.1.0
 * @category combinators
 */
export const bucket = (model: Ftrl, feature: string): number => hashOf(feature) & (model.z.length - 1)

/**
 * The features hashed lately and their hashes: an ad server sees the same few hundred feature strings (sites, sizes,
 * creatives, hours and their crosses) over and over, and a `Map` lookup costs a fraction of encoding a string as UTF-8
 * and hashing it. Emptied when it reaches `hashCacheSize` (the features of many campaigns and sites at once).
 */
const hashes = new Map<string, number>()
const hashCacheSize = 65_536

const hashOf = (feature: string): number => {
  let hash = hashes.get(feature)
  if (hash === undefined) {
    if (hashes.size >= hashCacheSize) hashes.clear()
    hash = murmur3(feature)
    hashes.set(feature, hash)
  }
  return hash
}

// The buckets of one example and how many of its features fall in each (collisions add up, as x_i = count).
let indexScratch = new Uint32Array(64)
let countScratch = new Float64Array(64)

const gather = (model: Ftrl, features: ReadonlyArray<string>): number => {
  const total = features.length + 1
  if (indexScratch.length < total) {
    indexScratch = new Uint32Array(total * 2)
    countScratch = new Float64Array(total * 2)
  }
  let m = 0
  if (model.options.bias) indexScratch[m++] = bucket(model, biasFeature)
  for (const feature of features) indexScratch[m++] = bucket(model, String(feature))
  const sorted = indexScratch.subarray(0, m).sort()
  let unique = 0
  for (let i = 0; i < m; i++) {
    if (unique > 0 && indexScratch[unique - 1] === sorted[i]) {
      countScratch[unique - 1]! += 1
    } else {
      indexScratch[unique] = sorted[i]!
      countScratch[unique] = 1
      unique++
    }
  }
  return unique
}

const weightAt = (model: Ftrl, i: number): number => {
  const z = model.z[i]!
  const { alpha, beta, l1, l2 } = model.options
  if (Math.abs(z) <= l1) return 0
  const rate = (beta + Math.sqrt(model.n[i]!)) / alpha + l2
  // Only a restored state (z ≠ 0 with n = 0, beta = l2 = 0) can make the rate 0: such a bucket has no weight.
  return rate > 0 ? -(z - Math.sign(z) * l1) / rate : 0
}

const logit = (p: number): number => Math.log(p / (1 - p))

const sigmoid = (margin: number): number => {
  if (Number.isNaN(margin)) return 0.5
  const m = Math.max(-maxMargin, Math.min(maxMargin, margin))
  return 1 / (1 + Math.exp(-m))
}

/** The margin of the first `unique` buckets (with their counts): `gather`'s scratch or a `Prepared`'s. */
const marginOf = (
  model: Ftrl,
  unique: number,
  buckets: Uint32Array = indexScratch,
  counts: Float64Array = countScratch
): number => {
  let margin = logit(model.options.baseRate)
  for (let k = 0; k < unique; k++) margin += weightAt(model, buckets[k]!) * counts[k]!
  return margin
}

/**
 * The predicted probability of a click for an impression with these features, strictly inside (0, 1) (the margin
 * is clamped to ±35).
 *
 * @since 0.1.0
 * @category combinators
 */
export const predict = (model: Ftrl, features: ReadonlyArray<string>): number =>
  sigmoid(marginOf(model, gather(model, features)))

/**
 * Features hashed into a model's buckets once (`prepare`), for predicting the same features again and again
 * (`predictPrepared`): a serving process predicts each creative in each context many times between two changes.
 *
 * @since 0.9.0
 * @category models
 */
export interface Prepared {
  readonly features: ReadonlyArray<string>
  /** The options of the model the buckets are for. */
  readonly options: Options
  readonly buckets: Uint32Array
  readonly counts: Float64Array
}

/**
 * `features` hashed into `model`'s buckets (with the bias), repeats counted: what `predict` does first every time.
 *
 * @since 0.9.0
 * @category constructors
 */
export const prepare = (model: Ftrl, features: ReadonlyArray<string>): Prepared => {
  const unique = gather(model, features)
  return {
    features,
    options: model.options,
    buckets: indexScratch.slice(0, unique),
    counts: countScratch.slice(0, unique)
  }
}

/**
 * `predict` of prepared features: the same number, without hashing them again. Features prepared for a model with
 * other options are hashed again.
 *
 * @since 0.9.0
 * @category combinators
 */
export const predictPrepared = (model: Ftrl, prepared: Prepared): number => {
  if (prepared.options !== model.options) return predict(model, prepared.features)
  return sigmoid(marginOf(model, prepared.buckets.length, prepared.buckets, prepared.counts))
}

/**
 * Learns from one impression: `clicked` is its outcome. Returns the prediction made before learning (for
 * progressive validation: the mean log loss of these predictions is the model's honest online error).
 *
 * A click that arrives late is learned when it arrives: keep the impression's features with the decision, learn
 * `true` when the click comes, `false` once the attribution window has passed without one.
 *
 * @since 0.1.0
 * @category combinators
 */
export const update = (model: Ftrl, features: ReadonlyArray<string>, clicked: boolean): number => {
  const unique = gather(model, features)
  const p = sigmoid(marginOf(model, unique))
  const g = p - (clicked ? 1 : 0)
  const { alpha } = model.options
  const { n, z } = model
  for (let k = 0; k < unique; k++) {
    const i = indexScratch[k]!
    const gi = g * countScratch[k]!
    const ni = n[i]!
    const sigma = (Math.sqrt(ni + gi * gi) - Math.sqrt(ni)) / alpha
    z[i] = z[i]! + gi - sigma * weightAt(model, i)
    n[i] = ni + gi * gi
  }
  return p
}

/**
 * The weight of a feature's bucket (0 when L1 keeps it out of the model).
 *
 * @since 0.1.0
 * @category combinators
 */
export const weight = (model: Ftrl, feature: string): number => weightAt(model, bucket(model, feature))

/**
 * How many buckets have a non-zero weight: the size of the sparse model L1 leaves.
 *
 * @since 0.1.0
 * @category combinators
 */
export const nonZeroWeights = (model: Ftrl): number => {
  let count = 0
  for (let i = 0; i < model.z.length; i++) if (Math.abs(model.z[i]!) > model.options.l1) count++
  return count
}

const magic = 0x4c525446 // "FTRL" read as little-endian u32
const version = 1
const headerBytes = 4 + 4 + 5 * 8 + 4
const entryBytes = 4 + 8 + 8

/**
 * The model as bytes: a header with the parameters, then the buckets that have learned anything (index, z, n),
 * little-endian. An untrained model is 52 bytes; each touched bucket adds 20.
 *
 * @since 0.1.0
 * @category encoding
 */
export const encode = (model: Ftrl): Uint8Array => {
  const { n, z } = model
  let count = 0
  for (let i = 0; i < z.length; i++) if (z[i] !== 0 || n[i] !== 0) count++
  const bytes = new Uint8Array(headerBytes + count * entryBytes)
  const view = new DataView(bytes.buffer)
  const o = model.options
  view.setUint32(0, magic, true)
  view.setUint8(4, version)
  view.setUint8(5, o.bits)
  view.setUint8(6, o.bias ? 1 : 0)
  const parameters = [o.alpha, o.beta, o.l1, o.l2, o.baseRate]
  for (let k = 0; k < parameters.length; k++) view.setFloat64(8 + 8 * k, parameters[k]!, true)
  view.setUint32(48, count, true)
  let at = headerBytes
  for (let i = 0; i < z.length; i++) {
    if (z[i] === 0 && n[i] === 0) continue
    view.setUint32(at, i, true)
    view.setFloat64(at + 4, z[i]!, true)
    view.setFloat64(at + 12, n[i]!, true)
    at += entryBytes
  }
  return bytes
}

const corrupt = (message: string) => Either.left(new FtrlError({ reason: "CorruptState", message }))

/**
 * A model from `encode`'s bytes, or a `CorruptState` error for anything else (wrong magic or version, truncated,
 * parameters out of range, bucket indexes out of order or range, non-finite or negative state).
 *
 * @since 0.1.0
 * @category encoding
 */
export const decode = (bytes: Uint8Array): Either.Either<Ftrl, FtrlError> => {
  if (bytes.length < headerBytes) return corrupt(`expected at least ${headerBytes} bytes, got ${bytes.length}`)
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  if (view.getUint32(0, true) !== magic) return corrupt("not an FTRL model (bad magic)")
  if (view.getUint8(4) !== version) return corrupt(`unsupported version ${view.getUint8(4)}`)
  const flags = view.getUint8(6)
  if (flags > 1 || view.getUint8(7) !== 0) return corrupt("bad flags")
  const [alpha, beta, l1, l2, baseRate] = [0, 1, 2, 3, 4].map((k) => view.getFloat64(8 + 8 * k, true)) as [
    number,
    number,
    number,
    number,
    number
  ]
  const made = validate({ bits: view.getUint8(5), bias: flags === 1, alpha, beta, l1, l2, baseRate })
  if (Either.isLeft(made)) return corrupt(made.left.message)
  const model = made.right
  const count = view.getUint32(48, true)
  if (bytes.length !== headerBytes + count * entryBytes) {
    return corrupt(`expected ${headerBytes + count * entryBytes} bytes for ${count} buckets, got ${bytes.length}`)
  }
  let previous = -1
  for (let k = 0, at = headerBytes; k < count; k++, at += entryBytes) {
    const i = view.getUint32(at, true)
    const z = view.getFloat64(at + 4, true)
    const n = view.getFloat64(at + 12, true)
    if (i <= previous || i >= model.z.length) return corrupt(`bucket ${i} out of order or range`)
    if (!Number.isFinite(z) || !Number.isFinite(n) || n < 0) return corrupt(`bucket ${i} has invalid state`)
    model.z[i] = z
    model.n[i] = n
    previous = i
  }
  return Either.right(model)
}

/**
 * A saved model as JSON: `encode`'s bytes in base64.
 *
 * @since 0.1.0
 * @category models
 */
export const FtrlJson = Schema.Struct({ format: Schema.Literal("ftrl-proximal/1"), data: Schema.String })

/**
 * A saved model as JSON.
 *
 * @since 0.1.0
 * @category models
 */
export type FtrlJson = typeof FtrlJson.Type

/**
 * The model as JSON (see `FtrlJson`).
 *
 * @since 0.1.0
 * @category encoding
 */
export const toJSON = (model: Ftrl): FtrlJson => ({
  format: "ftrl-proximal/1",
  data: Encoding.encodeBase64(encode(model))
})

/**
 * A model from `toJSON`'s output (parsed JSON of unknown shape), or a `CorruptState` error.
 *
 * @since 0.1.0
 * @category encoding
 */
export const fromJSON = (json: unknown): Either.Either<Ftrl, FtrlError> => {
  const parsed = Schema.decodeUnknownEither(FtrlJson)(json)
  if (Either.isLeft(parsed)) return corrupt('not a saved FTRL model (expected { format: "ftrl-proximal/1", data })')
  const bytes = Encoding.decodeBase64(parsed.right.data)
  if (Either.isLeft(bytes)) return corrupt("data is not base64")
  return decode(bytes.right)
}
