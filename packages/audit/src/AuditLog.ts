/**
 * The audit log port: `append` an entry (the log gives it the next `seq` and chains its hash to the previous
 * entry's, atomically, so concurrent appends never fork the chain), `list` one tenant's entries (never another
 * tenant's), and `verify` the whole chain. `layerMemory` keeps the log in memory (tests, the embedded demo);
 * `SqlAuditLog` in @openaudience/storage-sql keeps it in SQLite or PostgreSQL.
 *
 * Implementations validate what they are given with `prepare` and `validateQuery`, so that every store refuses the
 * same entries and queries.
 *
 * @since 0.1.0
 */
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import * as AuditEntry from "./AuditEntry.js"
import { AuditError } from "./AuditError.js"
import * as Verification from "./Verification.js"

/**
 * Which entries `list` answers: the tenant's (required: there is no query across tenants), after sequence number
 * `after` (exclusive, for paging), at most `limit` (1 to 1,000), optionally only some actions. Oldest first.
 *
 * @since 0.1.0
 * @category models
 */
export const ListQuery = Schema.Struct({
  tenant: Schema.String.pipe(Schema.minLength(1), Schema.maxLength(64)),
  after: Schema.optional(Schema.Int.pipe(Schema.nonNegative())),
  limit: Schema.Int.pipe(Schema.between(1, 1000)),
  actions: Schema.optional(Schema.Array(AuditEntry.Action).pipe(Schema.maxItems(50)))
})

/**
 * @since 0.1.0
 * @category models
 */
export interface ListQuery extends Schema.Schema.Type<typeof ListQuery> {}

/**
 * The operations of an audit log.
 *
 * @since 0.1.0
 * @category models
 */
export interface Service {
  /** Appends an entry: validates it, gives it the next `seq`, its time (the `Clock`'s unless given) and hashes. */
  readonly append: (input: AuditEntry.Input) => Effect.Effect<AuditEntry.Entry, AuditError>
  /** One tenant's entries, oldest first (see `ListQuery`). */
  readonly list: (query: ListQuery) => Effect.Effect<ReadonlyArray<AuditEntry.Entry>, AuditError>
  /** Checks the whole chain and its head; a broken chain is a result, not an error. */
  readonly verify: Effect.Effect<Verification.VerifyResult, AuditError>
}

/**
 * The audit log service.
 *
 * @since 0.1.0
 * @category services
 */
export class AuditLog extends Context.Tag("@openaudience/audit/AuditLog")<AuditLog, Service>() {}

const invalid = (what: string) => (error: ParseResult.ParseError) =>
  new AuditError({
    reason: "InvalidInput",
    message: `Invalid ${what}: ${ParseResult.TreeFormatter.formatErrorSync(error)}`
  })

const decodeInput = Schema.decodeUnknown(AuditEntry.Input, { onExcessProperty: "error" })
const decodeQuery = Schema.decodeUnknown(ListQuery, { onExcessProperty: "error" })

/**
 * Validates an entry to append and gives it its time (the `Clock`'s when `at` is not given).
 *
 * @since 0.1.0
 * @category combinators
 */
export const prepare = (
  input: AuditEntry.Input
): Effect.Effect<AuditEntry.Input & { readonly at: number }, AuditError> =>
  Effect.gen(function* () {
    const valid = yield* Effect.mapError(decodeInput(input), invalid("audit entry"))
    const at = valid.at ?? (yield* Clock.currentTimeMillis)
    return { ...valid, at }
  })

/**
 * Validates a `list` query.
 *
 * @since 0.1.0
 * @category combinators
 */
export const validateQuery = (query: ListQuery): Effect.Effect<ListQuery, AuditError> =>
  Effect.mapError(decodeQuery(query), invalid("audit query"))

/**
 * What an in-memory log holds: its entries in `seq` order and its head. Tests may change it to play an attacker.
 *
 * @since 0.1.0
 * @category models
 */
export interface MemoryState {
  readonly entries: Array<AuditEntry.Entry>
  head: AuditEntry.Head
}

/**
 * An empty in-memory log.
 *
 * @since 0.1.0
 * @category constructors
 */
export const emptyMemoryState = (): MemoryState => ({ entries: [], head: AuditEntry.emptyHead })

/**
 * An audit log in memory, over `state` (a new empty one unless given). Appends are atomic: each is one synchronous
 * step.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeMemory = (state: MemoryState = emptyMemoryState()): Service =>
  AuditLog.of({
    append: (input) =>
      Effect.flatMap(prepare(input), (prepared) =>
        Effect.sync(() => {
          const entry = AuditEntry.seal(state.head, prepared)
          state.entries.push(entry)
          state.head = { seq: entry.seq, hash: entry.hash }
          return entry
        })
      ),
    list: (query) =>
      Effect.map(validateQuery(query), (q) => {
        const after = q.after ?? 0
        const actions = q.actions === undefined ? undefined : new Set(q.actions)
        const found: Array<AuditEntry.Entry> = []
        for (const entry of state.entries) {
          if (found.length >= q.limit) break
          if (entry.tenant !== q.tenant || entry.seq <= after) continue
          if (actions !== undefined && !actions.has(entry.action)) continue
          found.push(entry)
        }
        return found
      }),
    verify: Effect.sync(() => Verification.verifyEntries(state.entries, state.head))
  })

/**
 * An in-memory audit log, new and empty for each build of the layer.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerMemory: Layer.Layer<AuditLog> = Layer.sync(AuditLog, () => makeMemory())
