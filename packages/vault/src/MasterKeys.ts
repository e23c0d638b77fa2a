/**
 * The master secrets everything in the vault is derived from: the current one, which wraps every new data key, and
 * during a rotation the previous one, which still opens the data keys wrapped before. Each secret has a version, a
 * small positive integer stored beside every key it wraps, so a wrapped key names the secret that opens it.
 *
 * Versions are not configured: `SecretCheck.verify` derives them from the database (the first secret a database
 * sees is version 1, the secret that replaces it through `OA_SECRET_PREVIOUS` is version 2, and so on) and builds
 * these keys. `make` takes explicit versions for libraries and tests that manage versions themselves.
 *
 * @since 0.1.0
 */
import { randomBytes } from "node:crypto"
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import * as Config from "effect/Config"
import * as ConfigError from "effect/ConfigError"
import * as Cause from "effect/Cause"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import { context, derive, hmac, maxInfoBytes } from "./internal/crypto.js"

/**
 * The least number of bytes a master secret must have (256 bits).
 *
 * @since 0.1.0
 * @category models
 */
export const minSecretBytes = 32

/**
 * One master secret and its version.
 *
 * @since 0.1.0
 * @category models
 */
export interface MasterSecret {
  readonly version: number
  readonly secret: Redacted.Redacted<Uint8Array>
}

/**
 * The master secrets in use: `current` wraps new keys; `previous`, during a rotation, opens older ones.
 *
 * @since 0.1.0
 * @category models
 */
export interface Keys {
  readonly current: MasterSecret
  readonly previous: Option.Option<MasterSecret>
}

/**
 * A master secret or version that cannot be used (too short, not hex or base64, a version that is not a positive
 * integer, two secrets with one version).
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidSecret extends Schema.TaggedError<InvalidSecret>()("InvalidSecret", {
  message: Schema.String
}) {}

/**
 * The master keys service.
 *
 * @since 0.1.0
 * @category services
 */
export class MasterKeys extends Context.Tag("@openaudience/vault/MasterKeys")<MasterKeys, Keys>() {}

/**
 * What `make` accepts: a secret as bytes (plain or `Redacted`) or as hex or base64 text.
 *
 * @since 0.1.0
 * @category models
 */
export type SecretInput = Uint8Array | string | Redacted.Redacted<Uint8Array> | Redacted.Redacted<string>

/**
 * Decodes a master secret: bytes as given, text as hex (an even number of hex digits) or else base64, at least
 * `minSecretBytes` bytes; the same rules as the server's `OA_SECRET`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const parseSecret = (
  input: SecretInput,
  name = "the master secret"
): Either.Either<Uint8Array, InvalidSecret> => {
  const value: Uint8Array | string = Redacted.isRedacted(input)
    ? Redacted.value(input as Redacted.Redacted<Uint8Array | string>)
    : input
  let bytes: Uint8Array
  if (typeof value === "string") {
    const raw = value.trim()
    bytes = /^[0-9a-f]+$/i.test(raw) && raw.length % 2 === 0 ? Buffer.from(raw, "hex") : Buffer.from(raw, "base64")
  } else {
    bytes = value
  }
  return bytes.length >= minSecretBytes
    ? Either.right(new Uint8Array(bytes))
    : Either.left(
        new InvalidSecret({ message: `${name} must encode at least ${minSecretBytes} bytes (hex or base64)` })
      )
}

const version = (value: number, name: string): Either.Either<number, InvalidSecret> =>
  Number.isSafeInteger(value) && value >= 1
    ? Either.right(value)
    : Either.left(new InvalidSecret({ message: `The version of ${name} must be a positive integer, got ${value}` }))

const secret = (input: { readonly version: number; readonly secret: SecretInput }, name: string) =>
  Either.gen(function* () {
    const v = yield* version(input.version, name)
    const bytes = yield* parseSecret(input.secret, name)
    return { version: v, secret: Redacted.make(bytes) } satisfies MasterSecret
  })

/**
 * Master keys with explicit versions; fails when a secret is too short or both have one version.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (input: {
  readonly current: { readonly version: number; readonly secret: SecretInput }
  readonly previous?: { readonly version: number; readonly secret: SecretInput } | undefined
}): Effect.Effect<Keys, InvalidSecret> =>
  Either.gen(function* () {
    const current = yield* secret(input.current, "the current master secret")
    if (input.previous === undefined) return { current, previous: Option.none() }
    const previous = yield* secret(input.previous, "the previous master secret")
    if (previous.version === current.version) {
      return yield* Either.left(
        new InvalidSecret({ message: `The current and previous master secrets both have version ${current.version}` })
      )
    }
    return { current, previous: Option.some(previous) }
  })

/**
 * A layer of master keys with explicit versions (see `make`).
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (input: Parameters<typeof make>[0]): Layer.Layer<MasterKeys, InvalidSecret> =>
  Layer.effect(MasterKeys, make(input))

/**
 * The master secret with a given version, if these keys hold it.
 *
 * @since 0.1.0
 * @category combinators
 */
export const find = (keys: Keys, wanted: number): Option.Option<MasterSecret> =>
  keys.current.version === wanted
    ? Option.some(keys.current)
    : Option.filter(keys.previous, (previous) => previous.version === wanted)

/**
 * The unversioned secrets of the environment: `OA_SECRET` and, during a rotation, `OA_SECRET_PREVIOUS` (hex or
 * base64, at least 32 bytes each). `SecretCheck` gives them their versions.
 *
 * @since 0.1.0
 * @category models
 */
export interface Secrets {
  readonly current: Redacted.Redacted<Uint8Array>
  readonly previous: Option.Option<Redacted.Redacted<Uint8Array>>
}

const secretConfig = (name: string): Config.Config<Redacted.Redacted<Uint8Array>> =>
  Config.redacted(name).pipe(
    Config.mapOrFail((value) =>
      Either.match(parseSecret(value, name), {
        onLeft: (error) => Either.left(ConfigError.InvalidData([], error.message)),
        onRight: (bytes) => Either.right(Redacted.make(bytes))
      })
    )
  )

/**
 * Reads `OA_SECRET` (required) and `OA_SECRET_PREVIOUS` (optional).
 *
 * @since 0.1.0
 * @category config
 */
export const config: Config.Config<Secrets> = Config.all({
  current: secretConfig("OA_SECRET"),
  previous: Config.option(secretConfig("OA_SECRET_PREVIOUS"))
})

/**
 * The file, in the data folder, of the development master secret `loadOrCreate` uses when `OA_SECRET` is unset.
 *
 * @since 0.1.0
 * @category models
 */
export const devSecretFile = "dev-secret.key"

const unusableFile = (file: string, cause: unknown) =>
  ConfigError.SourceUnavailable(
    ["OA_SECRET"],
    `OA_SECRET is not set and the development master secret ${file} cannot be read or written: ${
      cause instanceof Error ? cause.message : String(cause)
    }`,
    Cause.fail(cause)
  )

/**
 * The development secret of `dataDir`: read from `dev-secret.key` (base64), or generated (32 random bytes) and
 * written there (folder 0700, file 0600) with a warning when missing or too short.
 */
const devSecret = (dataDir: string): Effect.Effect<Redacted.Redacted<Uint8Array>, ConfigError.ConfigError> => {
  const file = join(dataDir, devSecretFile)
  return Effect.try({
    try: () => {
      mkdirSync(dataDir, { recursive: true, mode: 0o700 })
      if (existsSync(file)) {
        const bytes = Buffer.from(readFileSync(file, "utf8").trim(), "base64")
        if (bytes.length >= minSecretBytes) return { bytes: new Uint8Array(bytes), created: false }
      }
      const fresh = randomBytes(minSecretBytes)
      writeFileSync(file, `${fresh.toString("base64")}\n`, { mode: 0o600 })
      return { bytes: new Uint8Array(fresh), created: true }
    },
    catch: (cause) => unusableFile(file, cause)
  }).pipe(
    Effect.tap(({ created }) =>
      created
        ? Effect.logWarning(
            `OA_SECRET is not set: generated a development master secret in ${file}. Set OA_SECRET in production.`
          )
        : Effect.void
    ),
    Effect.map(({ bytes }) => Redacted.make(bytes))
  )
}

/**
 * The secrets of a process that keeps its data in `dataDir`: `OA_SECRET` when set, otherwise the development
 * secret kept in `dataDir/dev-secret.key` (generated on first use, with a warning), and `OA_SECRET_PREVIOUS` when
 * set. The server and the `openaudience` command both read their secrets here, so that they open the same keys.
 *
 * @since 0.1.0
 * @category config
 */
export const loadOrCreate = (dataDir: string): Effect.Effect<Secrets, ConfigError.ConfigError> =>
  Effect.gen(function* () {
    const configured = yield* Config.option(secretConfig("OA_SECRET"))
    const current = Option.isSome(configured) ? configured.value : yield* devSecret(dataDir)
    const previous = yield* Config.option(secretConfig("OA_SECRET_PREVIOUS"))
    return { current, previous }
  })

/**
 * Whether a context is short enough for HKDF (node:crypto accepts at most 1024 bytes of `info`).
 *
 * @since 0.1.0
 * @category combinators
 */
export const fitsContext = (...parts: ReadonlyArray<string | number>): boolean =>
  context(...parts).length <= maxInfoBytes

/**
 * The key-encryption key of a tenant under one master secret: HKDF-SHA256 of the secret with the context
 * `["vault/kek", tenant, version]`.
 *
 * @since 0.1.0
 * @category combinators
 */
export const tenantKek = (master: MasterSecret, tenant: string): Buffer =>
  derive(Redacted.value(master.secret), context("vault/kek", tenant, master.version))

/**
 * The root of a tenant's blind-index keys as first derived under one master secret: HKDF-SHA256 with the context
 * `["vault/blind-index", tenant, version]`. The vault stores it wrapped like a data key, so later rotations keep
 * it (and every blind index computed with it) unchanged.
 *
 * @since 0.1.0
 * @category combinators
 */
export const blindIndexRoot = (master: MasterSecret, tenant: string): Buffer =>
  derive(Redacted.value(master.secret), context("vault/blind-index", tenant, master.version))

const fingerprintLabel = "openaudience vault secret check v1"

/**
 * A fingerprint of a master secret, safe to store: the HMAC-SHA256 (hex) of a constant label under a key derived
 * from the secret for the purpose `vault/fingerprint`. It tells whether two secrets are the same and reveals
 * nothing else about them.
 *
 * @since 0.1.0
 * @category combinators
 */
export const fingerprint = (secret: Redacted.Redacted<Uint8Array>): string =>
  hmac(derive(Redacted.value(secret), context("vault/fingerprint")), fingerprintLabel).toString("hex")
