/**
 * The OpenAudience browser tag, its compact wire format (GET pixel and batched POST) and the 1x1 GIF.
 *
 * @since 0.1.0
 */

/**
 * @since 0.1.0
 */
export * as Gif from "./Gif.js"

/**
 * @since 0.1.0
 */
export * as Snippet from "./Snippet.js"

/**
 * @since 0.1.0
 */
export * as TagBundle from "./TagBundle.js"

/**
 * @since 0.1.0
 */
export * as WireFormat from "./WireFormat.js"
