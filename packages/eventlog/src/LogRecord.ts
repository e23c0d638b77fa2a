/**
 * Records of the event log. A record belongs to a tenant, carries a partition key (a pseudonymous
 * visitor key or an event id: records with the same key are delivered in append order) and an opaque
 * JSON payload. Once appended it has an offset: a number that grows with every append.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"

/**
 * A record to append.
 *
 * @since 0.1.0
 * @category models
 */
export const LogRecord = Schema.Struct({
  tenant: Schema.String,
  key: Schema.String,
  payload: Schema.Unknown
})

/**
 * A record to append (see the `LogRecord` schema).
 *
 * @since 0.1.0
 * @category models
 */
export interface LogRecord extends Schema.Schema.Type<typeof LogRecord> {}

/**
 * An appended record: its `offset` (positive, increasing in append order) and `appendedAt` (epoch ms).
 *
 * @since 0.1.0
 * @category models
 */
export const LoggedRecord = Schema.Struct({
  offset: Schema.Int,
  tenant: Schema.String,
  key: Schema.String,
  payload: Schema.Unknown,
  appendedAt: Schema.Int
})

/**
 * An appended record (see the `LoggedRecord` schema).
 *
 * @since 0.1.0
 * @category models
 */
export interface LoggedRecord extends Schema.Schema.Type<typeof LoggedRecord> {}
