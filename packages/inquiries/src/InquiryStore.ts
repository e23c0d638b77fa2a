/**
 * The port a store of inquiries implements (`SqlInquiryStore` in @openaudience/storage-sql; `layerMemory` here for
 * tests and a server without a database). A store keeps inquiries as `Inquiries` hands them over: the name, email
 * address and message as vault ciphertexts, never in clear, beside the id, tenant, status and times. Every method
 * that reads or changes an inquiry takes its tenant: another tenant's inquiry is `NotFound`, never `Forbidden`. The
 * one exception is `expired`, which finds the inquiries of every tenant whose retention is over, for `purge`.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import { InquiryError, notFound, type Status, type Summary } from "./Inquiry.js"

/**
 * An inquiry as stored: its summary and the ciphertexts (vault text form, `v1.…`) of its name, email and message.
 *
 * @since 0.1.0
 * @category models
 */
export interface StoredInquiry extends Summary {
  readonly name: string
  readonly email: string
  readonly message: string
}

/**
 * The tenant and id of an inquiry whose retention is over.
 *
 * @since 0.1.0
 * @category models
 */
export interface Expired {
  readonly tenant: string
  readonly id: string
}

/**
 * A store of inquiries.
 *
 * @since 0.1.0
 * @category services
 */
export interface InquiryStoreShape {
  /** Stores a new inquiry (its `tenant` is the one given). */
  readonly insert: (tenant: string, inquiry: StoredInquiry) => Effect.Effect<void, InquiryError>
  /** The tenant's inquiries, oldest first (by creation time, then id), of one status when given. */
  readonly list: (
    tenant: string,
    options?: { readonly status?: Status | undefined }
  ) => Effect.Effect<ReadonlyArray<StoredInquiry>, InquiryError>
  /** One inquiry of the tenant, or `NotFound`. */
  readonly get: (tenant: string, id: string) => Effect.Effect<StoredInquiry, InquiryError>
  /** Moves an inquiry to `answered` or `closed` at `at` (see `transition`); returns it as stored afterwards. */
  readonly setStatus: (
    tenant: string,
    id: string,
    status: "answered" | "closed",
    at: number
  ) => Effect.Effect<StoredInquiry, InquiryError>
  /** Deletes an inquiry of the tenant; whether it existed. */
  readonly delete: (tenant: string, id: string) => Effect.Effect<boolean, InquiryError>
  /** Up to `limit` inquiries of any tenant closed before `closedBefore` (epoch ms), oldest closing first. */
  readonly expired: (closedBefore: number, limit: number) => Effect.Effect<ReadonlyArray<Expired>, InquiryError>
}

/**
 * A store of inquiries.
 *
 * @since 0.1.0
 * @category services
 */
export class InquiryStore extends Context.Tag("@openaudience/inquiries/InquiryStore")<
  InquiryStore,
  InquiryStoreShape
>() {}

/**
 * The status change every store applies: `closed` sets `closedAt` (closing a closed inquiry changes nothing, so its
 * retention is never extended); `answered` applies to an open inquiry (an answered one stays as it is) and is a
 * `Conflict` on a closed one.
 *
 * @since 0.1.0
 * @category combinators
 */
export const transition = <A extends Summary>(
  inquiry: A,
  status: "answered" | "closed",
  at: number
): Either.Either<A, InquiryError> => {
  if (inquiry.status === "closed") {
    return status === "closed"
      ? Either.right(inquiry)
      : Either.left(
          new InquiryError({
            reason: "Conflict",
            message: `Inquiry ${JSON.stringify(inquiry.id)} is closed: it cannot be answered any more`
          })
        )
  }
  if (status === "closed") return Either.right({ ...inquiry, status, closedAt: at })
  return Either.right({ ...inquiry, status })
}

/**
 * Inquiries are listed by creation time, then by id (as the SQL store orders them).
 *
 * @since 0.1.0
 * @category combinators
 */
export const byCreation = (a: Summary, b: Summary): number =>
  a.createdAt - b.createdAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)

/**
 * A store in memory, with the semantics every store has.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeMemory = (): InquiryStoreShape => {
  const inquiries = new Map<string, StoredInquiry>()
  const find = (tenant: string, id: string): Effect.Effect<StoredInquiry, InquiryError> => {
    const inquiry = inquiries.get(id)
    return inquiry === undefined || inquiry.tenant !== tenant ? Effect.fail(notFound(id)) : Effect.succeed(inquiry)
  }
  return {
    insert: (tenant, inquiry) =>
      Effect.suspend(() => {
        if (inquiries.has(inquiry.id)) {
          return Effect.fail(new InquiryError({ reason: "Conflict", message: `Inquiry id ${inquiry.id} is taken` }))
        }
        inquiries.set(inquiry.id, { ...inquiry, tenant })
        return Effect.void
      }),
    list: (tenant, options) =>
      Effect.sync(() =>
        [...inquiries.values()]
          .filter((i) => i.tenant === tenant && (options?.status === undefined || i.status === options.status))
          .sort(byCreation)
      ),
    get: find,
    setStatus: (tenant, id, status, at) =>
      Effect.flatMap(find(tenant, id), (inquiry) =>
        Effect.map(transition(inquiry, status, at), (next) => {
          inquiries.set(id, next)
          return next
        })
      ),
    delete: (tenant, id) =>
      Effect.sync(() => {
        const inquiry = inquiries.get(id)
        return inquiry !== undefined && inquiry.tenant === tenant && inquiries.delete(id)
      }),
    expired: (closedBefore, limit) =>
      Effect.sync(() =>
        [...inquiries.values()]
          .filter((i) => i.status === "closed" && i.closedAt !== null && i.closedAt < closedBefore)
          .sort((a, b) => (a.closedAt ?? 0) - (b.closedAt ?? 0) || (a.id < b.id ? -1 : 1))
          .slice(0, limit)
          .map((i) => ({ tenant: i.tenant, id: i.id }))
      )
  }
}

/**
 * The in-memory store.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerMemory: Layer.Layer<InquiryStore> = Layer.sync(InquiryStore, makeMemory)
