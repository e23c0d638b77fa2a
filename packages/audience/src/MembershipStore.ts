/**
 * The storage port for audiences: per tenant and visitor, the encoded `VisitorState` and when it must next be
 * advanced, and the memberships (enter and exit times, expiry, qualifying products) built from the evaluator's
 * changes. `commit` writes a visitor's new state and its membership changes together, so a crash never leaves
 * them out of step. `layerMemory` keeps everything in memory (tests, the embedded demo); an SQL implementation
 * belongs in @openaudience/storage-sql.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import type * as Membership from "./Membership.js"
import { isActive } from "./Membership.js"

/**
 * A storage failure.
 *
 * @since 0.1.0
 * @category errors
 */
export class MembershipStoreError extends Schema.TaggedError<MembershipStoreError>()("MembershipStoreError", {
  message: Schema.String
}) {}

/**
 * What one visitor's step changes: the new encoded state (`null` deletes it: nothing left to keep), when to
 * advance it next (`null`: never, until a new event), and the membership changes to apply.
 *
 * @since 0.1.0
 * @category models
 */
export interface Commit {
  readonly state: Uint8Array | null
  readonly nextCheckAt: number | null
  readonly changes: ReadonlyArray<Membership.Change>
}

/**
 * One visitor's commit in a batch (see `Service.commitAll`).
 *
 * @since 0.4.0
 * @category models
 */
export interface VisitorCommit {
  readonly visitor: string
  readonly commit: Commit
}

/**
 * The port.
 *
 * @since 0.1.0
 * @category models
 */
export interface Service {
  /** The stored state of a visitor. */
  readonly loadState: (
    tenant: string,
    visitor: string
  ) => Effect.Effect<Option.Option<Uint8Array>, MembershipStoreError>
  /**
   * Atomically stores a visitor's state and applies membership changes: `Entered` opens a membership,
   * `Updated` changes the open one's expiry and products, `Exited` closes it at `at`.
   */
  readonly commit: (tenant: string, visitor: string, commit: Commit) => Effect.Effect<void, MembershipStoreError>
  /**
   * Optional, for stores where a statement costs more than its rows (SQL): the stored states of many visitors at
   * once, by visitor (a visitor without one is absent). Without it, `Pipeline` calls `loadState` per visitor.
   *
   * @since 0.4.0
   */
  readonly loadStates?:
    | ((
        tenant: string,
        visitors: ReadonlyArray<string>
      ) => Effect.Effect<ReadonlyMap<string, Uint8Array>, MembershipStoreError>)
    | undefined
  /**
   * Optional, beside `loadStates`: the commits of many distinct visitors, all of them or none (each as `commit`
   * would apply it). Without it, `Pipeline` calls `commit` per visitor.
   *
   * @since 0.4.0
   */
  readonly commitAll?:
    | ((tenant: string, commits: ReadonlyArray<VisitorCommit>) => Effect.Effect<void, MembershipStoreError>)
    | undefined
  /** Visitors whose next check is at or before `now`, earliest first, at most `limit`. */
  readonly due: (
    tenant: string,
    now: number,
    limit: number
  ) => Effect.Effect<ReadonlyArray<string>, MembershipStoreError>
  /** Visitors with a stored state, in key order after `after`, at most `limit` (for migrations and backfills). */
  readonly visitors: (
    tenant: string,
    after: string | undefined,
    limit: number
  ) => Effect.Effect<ReadonlyArray<string>, MembershipStoreError>
  /** A visitor's active memberships at `now` (not exited, not expired): what the ad selector asks. */
  readonly memberships: (
    tenant: string,
    visitor: string,
    now: number
  ) => Effect.Effect<ReadonlyArray<Membership.Membership>, MembershipStoreError>
  /** Number of active members of an audience at `now`. */
  readonly count: (tenant: string, audienceId: string, now: number) => Effect.Effect<number, MembershipStoreError>
  /** Every membership of a visitor, past ones included (for access requests). */
  readonly history: (
    tenant: string,
    visitor: string
  ) => Effect.Effect<ReadonlyArray<Membership.Membership>, MembershipStoreError>
  /** Deletes a visitor's state and memberships (erasure). */
  readonly forget: (tenant: string, visitor: string) => Effect.Effect<void, MembershipStoreError>
  /** Deletes every membership of an audience (it was deleted). */
  readonly dropAudience: (tenant: string, audienceId: string) => Effect.Effect<void, MembershipStoreError>
}

/**
 * The membership store service.
 *
 * @since 0.1.0
 * @category services
 */
export class MembershipStore extends Context.Tag("@openaudience/audience/MembershipStore")<
  MembershipStore,
  Service
>() {}

interface VisitorRow {
  state: Uint8Array | null
  nextCheckAt: number | null
  memberships: Array<{ -readonly [K in keyof Membership.Membership]: Membership.Membership[K] }>
}

/**
 * An in-memory store (one per layer build).
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeMemory = (): Service => {
  const tenants = new Map<string, Map<string, VisitorRow>>()
  const rowsOf = (tenant: string) => {
    let rows = tenants.get(tenant)
    if (rows === undefined) {
      rows = new Map()
      tenants.set(tenant, rows)
    }
    return rows
  }
  const commitOne = (tenant: string, visitor: string, commit: Commit) => {
    const rows = rowsOf(tenant)
    const row = rows.get(visitor) ?? { state: null, nextCheckAt: null, memberships: [] }
    row.state = commit.state === null ? null : commit.state.slice()
    row.nextCheckAt = commit.nextCheckAt
    for (const change of commit.changes) {
      const open = row.memberships.find((m) => m.audienceId === change.audienceId && m.exitedAt === null)
      switch (change._tag) {
        case "Entered":
          if (open !== undefined) open.exitedAt = change.at
          row.memberships.push({
            audienceId: change.audienceId,
            visitor,
            enteredAt: change.at,
            expiresAt: change.expiresAt,
            exitedAt: null,
            products: [...change.products]
          })
          break
        case "Updated":
          if (open !== undefined) {
            open.expiresAt = change.expiresAt
            open.products = [...change.products]
          }
          break
        case "Exited":
          if (open !== undefined) open.exitedAt = change.at
          break
      }
    }
    if (row.state === null && row.memberships.length === 0) rows.delete(visitor)
    else rows.set(visitor, row)
  }
  const copy = (m: Membership.Membership): Membership.Membership => ({ ...m, products: [...m.products] })
  return {
    loadState: (tenant, visitor) =>
      Effect.sync(() => {
        const state = tenants.get(tenant)?.get(visitor)?.state
        return state === undefined || state === null ? Option.none() : Option.some(state.slice())
      }),
    loadStates: (tenant, visitors) =>
      Effect.sync(() => {
        const rows = tenants.get(tenant)
        const out = new Map<string, Uint8Array>()
        for (const visitor of visitors) {
          const state = rows?.get(visitor)?.state
          if (state !== undefined && state !== null) out.set(visitor, state.slice())
        }
        return out
      }),
    commit: (tenant, visitor, commit) => Effect.sync(() => commitOne(tenant, visitor, commit)),
    commitAll: (tenant, commits) =>
      Effect.sync(() => {
        for (const { commit, visitor } of commits) commitOne(tenant, visitor, commit)
      }),
    due: (tenant, now, limit) =>
      Effect.sync(() =>
        [...(tenants.get(tenant) ?? new Map<string, VisitorRow>())]
          .filter(([, row]) => row.nextCheckAt !== null && row.nextCheckAt <= now)
          .sort((a, b) => a[1].nextCheckAt! - b[1].nextCheckAt! || (a[0] < b[0] ? -1 : 1))
          .slice(0, limit)
          .map(([visitor]) => visitor)
      ),
    visitors: (tenant, after, limit) =>
      Effect.sync(() =>
        [...(tenants.get(tenant) ?? new Map<string, VisitorRow>())]
          .filter(([visitor, row]) => row.state !== null && (after === undefined || visitor > after))
          .map(([visitor]) => visitor)
          .sort()
          .slice(0, limit)
      ),
    memberships: (tenant, visitor, now) =>
      Effect.sync(() =>
        (tenants.get(tenant)?.get(visitor)?.memberships ?? []).filter((m) => isActive(m, now)).map(copy)
      ),
    count: (tenant, audienceId, now) =>
      Effect.sync(() => {
        let n = 0
        for (const row of tenants.get(tenant)?.values() ?? []) {
          if (row.memberships.some((m) => m.audienceId === audienceId && isActive(m, now))) n++
        }
        return n
      }),
    history: (tenant, visitor) => Effect.sync(() => (tenants.get(tenant)?.get(visitor)?.memberships ?? []).map(copy)),
    forget: (tenant, visitor) =>
      Effect.sync(() => {
        tenants.get(tenant)?.delete(visitor)
      }),
    dropAudience: (tenant, audienceId) =>
      Effect.sync(() => {
        for (const row of tenants.get(tenant)?.values() ?? []) {
          row.memberships = row.memberships.filter((m) => m.audienceId !== audienceId)
        }
      })
  }
}

/**
 * The in-memory store as a layer.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerMemory: Layer.Layer<MembershipStore> = Layer.sync(MembershipStore, makeMemory)
