/**
 * The inquiries service: what a server calls for its contact form and its admin pages. `submit` validates an
 * inquiry and stores it with its name, email address and message encrypted by @openaudience/vault, each inquiry
 * being a vault subject of its own (its id): one data key per inquiry, so deleting an inquiry shreds its key and
 * every copy of its ciphertexts (in backups, exports, logs) becomes noise. `list` and `get` decrypt, for the roles in
 * `Inquiry.readers` only (the caller checks). `purge` deletes the inquiries whose retention is over (closed more than
 * `retentionDays` ago, 90 by default); `erase` deletes one at once (a data-subject erasure request).
 *
 * A shred comes before the row's deletion, so a purge or an erasure interrupted between the two leaves a row that no
 * longer decrypts (listed as gone, and deleted by the next purge or erasure), never a readable one.
 *
 * @since 0.1.0
 */
import { SecureRandom } from "@openaudience/anonymizer"
import { Vault } from "@openaudience/vault"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import {
  decrypted,
  type Inquiry,
  InquiryError,
  InquiryId,
  type Input,
  invalid,
  notFound,
  type Status,
  type Summary,
  type Valid,
  validate
} from "./Inquiry.js"
import { InquiryStore, type StoredInquiry } from "./InquiryStore.js"

/**
 * How long a closed inquiry is kept by default, in days.
 *
 * @since 0.1.0
 * @category models
 */
export const defaultRetentionDays = 90

const dayMs = 86_400_000

/** Inquiries handled per page of a purge. */
const purgePage = 200

/** The encrypted fields, by their vault field names. */
const encryptedFields = ["name", "email", "message"] as const

/**
 * The inquiries service.
 *
 * @since 0.1.0
 * @category models
 */
export interface Service {
  /** Validates a contact form's inquiry (errors name the field) and stores it, encrypted; its summary. */
  readonly submit: (tenant: string, input: Input) => Effect.Effect<Summary, InquiryError>
  /** The tenant's inquiries, decrypted, oldest first (of one status when given). Callers: `Inquiry.readers`. */
  readonly list: (
    tenant: string,
    options?: { readonly status?: Status | undefined }
  ) => Effect.Effect<ReadonlyArray<Inquiry>, InquiryError>
  /** One inquiry, decrypted. Callers: `Inquiry.readers`. */
  readonly get: (tenant: string, id: string) => Effect.Effect<Inquiry, InquiryError>
  /** Marks an open inquiry answered (kept: the retention starts when it is closed). */
  readonly answer: (tenant: string, id: string) => Effect.Effect<Summary, InquiryError>
  /** Closes an inquiry at `at` (epoch ms); its retention period starts then. Closing twice keeps the first time. */
  readonly close: (tenant: string, id: string, at: number) => Effect.Effect<Summary, InquiryError>
  /**
   * Deletes every inquiry, of every tenant, closed more than `retentionDays` before `now` (epoch ms): data key
   * shredded, then row deleted. Open and answered inquiries are never purged. The number deleted.
   */
  readonly purge: (now: number, retentionDays?: number) => Effect.Effect<number, InquiryError>
  /** Deletes one inquiry now, whatever its status (data-subject erasure): data key shredded, row deleted. */
  readonly erase: (tenant: string, id: string) => Effect.Effect<void, InquiryError>
}

/**
 * The inquiries service.
 *
 * @since 0.1.0
 * @category services
 */
export class Inquiries extends Context.Tag("@openaudience/inquiries/Inquiries")<Inquiries, Service>() {}

const fromVault = (error: Vault.VaultError): InquiryError =>
  new InquiryError({
    reason: error.reason === "StoreFailed" ? "Unavailable" : "Unreadable",
    message: error.message,
    cause: error
  })

const isInquiryId = Schema.is(InquiryId)

/** `effect`, for a well-formed id; anything else (from a URL, say) is no inquiry, and never reaches the store. */
const known = <A>(id: string, effect: Effect.Effect<A, InquiryError>): Effect.Effect<A, InquiryError> =>
  isInquiryId(id) ? effect : Effect.fail(notFound(id))

const summaryOf = (stored: StoredInquiry): Summary => ({
  id: stored.id,
  tenant: stored.tenant,
  createdAt: stored.createdAt,
  status: stored.status,
  closedAt: stored.closedAt
})

/**
 * Builds the service over the `InquiryStore` and the `Vault` in context. Ids come from @openaudience/anonymizer's
 * `SecureRandom`, creation times from `Clock`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: Effect.Effect<Service, never, InquiryStore | Vault.Vault> = Effect.gen(function* () {
  const store = yield* InquiryStore
  const vault = yield* Vault.Vault
  const random = yield* SecureRandom.SecureRandom

  const newId = () => `inq_${Buffer.from(random.bytes(16)).toString("hex")}`

  /** The decrypted inquiry, or `None` when its data key was shredded (an interrupted purge or erasure). */
  const open = (stored: StoredInquiry): Effect.Effect<Option.Option<Inquiry>, InquiryError> =>
    Effect.forEach(encryptedFields, (field) => vault.decrypt(stored.tenant, stored.id, field, stored[field])).pipe(
      Effect.map(([name, email, message]) =>
        Option.some(decrypted(summaryOf(stored), { name, email, message } as Valid))
      ),
      Effect.catchIf(
        (error) => error.reason === "Shredded",
        () => Effect.succeedNone
      ),
      Effect.mapError(fromVault)
    )

  /** Shreds the inquiry's data key, then deletes its row; whether the row existed. */
  const remove = (tenant: string, id: string) =>
    Effect.zipRight(vault.shred(tenant, id).pipe(Effect.mapError(fromVault)), store.delete(tenant, id))

  const submit: Service["submit"] = (tenant, input) =>
    Effect.gen(function* () {
      const valid = yield* validate(input)
      const id = newId()
      const createdAt = yield* Clock.currentTimeMillis
      const sealed = yield* Effect.forEach(encryptedFields, (field) => vault.encrypt(tenant, id, field, valid[field]))
      const [name, email, message] = sealed as [string, string, string]
      const stored: StoredInquiry = { id, tenant, createdAt, status: "open", closedAt: null, name, email, message }
      // A key without a row would be an orphan: shred it when the row cannot be stored.
      yield* store.insert(tenant, stored).pipe(Effect.tapError(() => Effect.ignore(vault.shred(tenant, id))))
      return summaryOf(stored)
    }).pipe(
      Effect.catchTag("VaultError", (error) =>
        error.reason === "InvalidInput" ? Effect.fail(invalid("tenant", error.message)) : Effect.fail(fromVault(error))
      )
    )

  const list: Service["list"] = (tenant, options) =>
    Effect.flatMap(store.list(tenant, options), (rows) =>
      Effect.map(Effect.forEach(rows, open), (opened) => opened.flatMap(Option.toArray))
    )

  const get: Service["get"] = (tenant, id) =>
    known(
      id,
      Effect.flatMap(store.get(tenant, id), (stored) =>
        Effect.flatMap(open(stored), Option.match({ onNone: () => Effect.fail(notFound(id)), onSome: Effect.succeed }))
      )
    )

  const purge: Service["purge"] = (now, retentionDays = defaultRetentionDays) =>
    Effect.gen(function* () {
      if (!Number.isFinite(now)) return yield* invalid("now", "expected a time (epoch milliseconds)")
      if (!Number.isFinite(retentionDays) || retentionDays < 0) {
        return yield* invalid("retentionDays", "expected a number of days, 0 or more")
      }
      // Whole milliseconds (a BIGINT parameter): closed_at < ceil(x) is closed_at < x for integer times.
      const closedBefore = Math.ceil(now - retentionDays * dayMs)
      let deleted = 0
      while (true) {
        const page = yield* store.expired(closedBefore, purgePage)
        for (const { tenant, id } of page) if (yield* remove(tenant, id)) deleted++
        if (page.length < purgePage) return deleted
      }
    })

  const erase: Service["erase"] = (tenant, id) =>
    known(id, Effect.zipRight(store.get(tenant, id), Effect.asVoid(remove(tenant, id))))

  return Inquiries.of({
    submit,
    list,
    get,
    answer: (tenant, id) =>
      known(
        id,
        Effect.flatMap(Clock.currentTimeMillis, (now) =>
          Effect.map(store.setStatus(tenant, id, "answered", now), summaryOf)
        )
      ),
    close: (tenant, id, at) =>
      Number.isSafeInteger(at)
        ? known(id, Effect.map(store.setStatus(tenant, id, "closed", at), summaryOf))
        : Effect.fail(invalid("at", "expected a time (epoch milliseconds)")),
    purge,
    erase
  })
})

/**
 * The service over the `InquiryStore` and the `Vault` from context.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<Inquiries, never, InquiryStore | Vault.Vault> = Layer.effect(Inquiries, make)
