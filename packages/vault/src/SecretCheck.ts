/**
 * The start-up check of the master secret. Every pseudonym, tenant key and wrapped data key derives from
 * `OA_SECRET`; a changed secret silently changes every visitor pseudonym and makes every encrypted field
 * unreadable. So the database keeps the fingerprint (`MasterKeys.fingerprint`, never the secret) of each master
 * secret it has seen, with a version, and `verify` compares at start:
 *
 * - nothing stored: first start; `OA_SECRET` is recorded as version 1 (active);
 * - `OA_SECRET` is the active secret: fine (`OA_SECRET_PREVIOUS`, if set, must be a secret recorded before);
 * - `OA_SECRET_PREVIOUS` is the active secret: a rotation is in progress; `OA_SECRET` is recorded as the next
 *   version (pending) and wraps every new key, the previous one still opens the older keys. `Vault.rotate`
 *   re-wraps them and then makes the new secret the active one;
 * - anything else: refused, with a message saying why and how to fix it.
 *
 * This is how secrets get their versions: a version is the order in which a database first saw a secret, and a
 * wrapped key stores the version of the secret that wrapped it.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import type * as ConfigError from "effect/ConfigError"
import { sameDigest } from "./internal/crypto.js"
import * as KeyStore from "./KeyStore.js"
import * as MasterKeys from "./MasterKeys.js"

/**
 * Why the master secret was refused.
 *
 * - `SecretChanged`: `OA_SECRET` matches neither the database's secret nor `OA_SECRET_PREVIOUS`.
 * - `UnknownPrevious`: `OA_SECRET_PREVIOUS` is not a secret this database has used.
 * - `PreviousMissing`: `OA_SECRET` is the new secret of an unfinished rotation, without `OA_SECRET_PREVIOUS`.
 * - `RotationConflict`: a rotation to another new secret is unfinished.
 * - `StoreFailed`: the stored fingerprints could not be read or written.
 *
 * @since 0.1.0
 * @category errors
 */
export class SecretCheckError extends Schema.TaggedError<SecretCheckError>()("SecretCheckError", {
  reason: Schema.Literal("SecretChanged", "UnknownPrevious", "PreviousMissing", "RotationConflict", "StoreFailed"),
  message: Schema.String,
  cause: Schema.optional(Schema.Defect)
}) {}

/**
 * How the check went: `FirstStart` (recorded now), `Current` (the stored secret), `RotationInProgress` (the new
 * secret, with the previous one still needed until `Vault.rotate` has run).
 *
 * @since 0.1.0
 * @category models
 */
export type Outcome = "FirstStart" | "Current" | "RotationInProgress"

/**
 * The outcome and the master keys, with the versions read from the database.
 *
 * @since 0.1.0
 * @category models
 */
export interface Verified {
  readonly outcome: Outcome
  readonly keys: MasterKeys.Keys
}

const howToRotate =
  "To rotate on purpose: set OA_SECRET_PREVIOUS to the old secret and OA_SECRET to the new one, start, run `openaudience keys rotate`, then remove OA_SECRET_PREVIOUS."

const fail = (reason: SecretCheckError["reason"], message: string) => new SecretCheckError({ reason, message })

const storeFailed = (error: KeyStore.KeyStoreError) =>
  new SecretCheckError({ reason: "StoreFailed", message: `The secret check failed: ${error.message}`, cause: error })

const keysOf = (
  current: { readonly version: number; readonly secret: Redacted.Redacted<Uint8Array> },
  previous?: { readonly version: number; readonly secret: Redacted.Redacted<Uint8Array> }
): MasterKeys.Keys => ({ current, previous: Option.fromNullable(previous) })

const attempt = (
  store: KeyStore.Service,
  secrets: MasterKeys.Secrets,
  tries: number
): Effect.Effect<Verified, SecretCheckError> =>
  Effect.gen(function* () {
    const records = yield* store.secrets.pipe(Effect.mapError(storeFailed))
    const current = MasterKeys.fingerprint(secrets.current)
    const previous = Option.map(secrets.previous, MasterKeys.fingerprint)
    const matching = (fingerprint: string) => records.find((record) => sameDigest(record.fingerprint, fingerprint))
    // Another process recorded a secret between our read and our write: read again.
    const retry =
      tries > 0
        ? attempt(store, secrets, tries - 1)
        : Effect.fail(fail("StoreFailed", "The secret check did not settle"))

    const active = records.find((record) => record.status === "active")
    if (active === undefined) {
      const recorded = yield* store
        .recordSecret({ version: 1, fingerprint: current, status: "active" })
        .pipe(Effect.mapError(storeFailed))
      if (!recorded) return yield* retry
      return { outcome: "FirstStart", keys: keysOf({ version: 1, secret: secrets.current }) } as const
    }

    if (sameDigest(active.fingerprint, current)) {
      const abandoned = records.find((record) => record.status === "pending")
      if (abandoned !== undefined) {
        yield* Effect.logWarning(
          `A rotation to master secret version ${abandoned.version} was started and not finished: data keys created meanwhile open only with that secret (set it as OA_SECRET, this one as OA_SECRET_PREVIOUS, and run \`openaudience keys rotate\`).`
        )
      }
      if (Option.isNone(secrets.previous) || Option.isNone(previous)) {
        return { outcome: "Current", keys: keysOf({ version: active.version, secret: secrets.current }) } as const
      }
      const known = matching(previous.value)
      if (known === undefined) {
        return yield* fail(
          "UnknownPrevious",
          "OA_SECRET_PREVIOUS is not a master secret this database has used: remove it, or set it to the secret OA_SECRET replaced."
        )
      }
      return {
        outcome: "Current",
        keys:
          known.version === active.version
            ? keysOf({ version: active.version, secret: secrets.current })
            : keysOf(
                { version: active.version, secret: secrets.current },
                { version: known.version, secret: secrets.previous.value }
              )
      } as const
    }

    const pending = records.find((record) => record.status === "pending")
    if (Option.isSome(secrets.previous) && Option.isSome(previous) && sameDigest(active.fingerprint, previous.value)) {
      if (pending !== undefined && !sameDigest(pending.fingerprint, current)) {
        return yield* fail(
          "RotationConflict",
          `A rotation to another new secret (version ${pending.version}) is not finished: start with that secret as OA_SECRET and run \`openaudience keys rotate\` before rotating again.`
        )
      }
      let version = pending?.version
      if (version === undefined) {
        version = Math.max(...records.map((record) => record.version)) + 1
        const recorded = yield* store
          .recordSecret({ version, fingerprint: current, status: "pending" })
          .pipe(Effect.mapError(storeFailed))
        if (!recorded) return yield* retry
      }
      return {
        outcome: "RotationInProgress",
        keys: keysOf({ version, secret: secrets.current }, { version: active.version, secret: secrets.previous.value })
      } as const
    }

    if (pending !== undefined && sameDigest(pending.fingerprint, current)) {
      return yield* fail(
        "PreviousMissing",
        `OA_SECRET is the new secret of a rotation that is not finished (keys are still wrapped under version ${active.version}): set OA_SECRET_PREVIOUS to the old secret until \`openaudience keys rotate\` has run.`
      )
    }
    return yield* fail(
      "SecretChanged",
      `OA_SECRET changed without OA_SECRET_PREVIOUS: it is not the master secret this database was set up with (version ${active.version}), nor is OA_SECRET_PREVIOUS. Starting would change every visitor pseudonym and leave the encrypted personal data unreadable, so the server refuses to start. To fix it: set OA_SECRET back to the secret in use. ${howToRotate}`
    )
  })

/**
 * Checks the configured secrets against the fingerprints stored in the key store (recording them on first start
 * and at the beginning of a rotation) and gives them their versions.
 *
 * @since 0.1.0
 * @category combinators
 */
export const verify = (secrets: MasterKeys.Secrets): Effect.Effect<Verified, SecretCheckError, KeyStore.KeyStore> =>
  Effect.flatMap(KeyStore.KeyStore, (store) => attempt(store, secrets, 3)).pipe(
    Effect.tap(({ outcome, keys }) =>
      outcome === "RotationInProgress"
        ? Effect.logWarning(
            `Master secret rotation in progress: new keys are wrapped under version ${keys.current.version}; run \`openaudience keys rotate\`, then remove OA_SECRET_PREVIOUS.`
          )
        : outcome === "FirstStart"
          ? Effect.logInfo("Master secret recorded (version 1): later starts check OA_SECRET against it.")
          : Effect.void
    )
  )

/**
 * `MasterKeys` from checked secrets: fails the layer (and so the start) when the check refuses them.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  secrets: MasterKeys.Secrets
): Layer.Layer<MasterKeys.MasterKeys, SecretCheckError, KeyStore.KeyStore> =>
  Layer.effect(
    MasterKeys.MasterKeys,
    Effect.map(verify(secrets), (verified) => verified.keys)
  )

/**
 * `MasterKeys` from `OA_SECRET` and `OA_SECRET_PREVIOUS`, checked (see `layer`).
 *
 * @since 0.1.0
 * @category layers
 */
export const layerConfig: Layer.Layer<
  MasterKeys.MasterKeys,
  SecretCheckError | ConfigError.ConfigError,
  KeyStore.KeyStore
> = Layer.unwrapEffect(Effect.map(MasterKeys.config, layer))
