/**
 * Stored event models, defined once in @openaudience/event-schema (its `StoredEvent` module) and re-exported here
 * flat because every caller of the store uses them.
 *
 * @since 0.1.0
 */
import { StoredEvent as Model } from "@openaudience/event-schema"

/**
 * The latest `receivedAt` the store accepts (see `StoredEvent.maxReceivedAt` of @openaudience/event-schema).
 *
 * @since 0.2.0
 * @category models
 */
export const maxReceivedAt = Model.maxReceivedAt

/**
 * Whether `receivedAt` is one the store accepts (see `StoredEvent.isReceivedAt` of @openaudience/event-schema).
 *
 * @since 0.2.0
 * @category models
 */
export const isReceivedAt = Model.isReceivedAt

/**
 * An event to store.
 *
 * @since 0.1.0
 * @category models
 */
export const StoredEvent = Model.StoredEvent

/**
 * An event to store.
 *
 * @since 0.1.0
 * @category models
 */
export type StoredEvent = Model.StoredEvent

/**
 * A stored event with its sequence number.
 *
 * @since 0.1.0
 * @category models
 */
export const SequencedEvent = Model.SequencedEvent

/**
 * A stored event with its sequence number.
 *
 * @since 0.1.0
 * @category models
 */
export type SequencedEvent = Model.SequencedEvent

/**
 * What happened to one input event of an append.
 *
 * @since 0.1.0
 * @category models
 */
export const AppendOutcome = Model.AppendOutcome

/**
 * What happened to one input event of an append.
 *
 * @since 0.1.0
 * @category models
 */
export type AppendOutcome = Model.AppendOutcome

/**
 * The result of appending a batch.
 *
 * @since 0.1.0
 * @category models
 */
export const AppendResult = Model.AppendResult

/**
 * The result of appending a batch.
 *
 * @since 0.1.0
 * @category models
 */
export type AppendResult = Model.AppendResult
