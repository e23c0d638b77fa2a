/**
 * Where the built browser tag lives, for servers that answer `GET /tag.js`: `dist/tag.js` of this package,
 * produced by `pnpm --filter @openaudience/pixel run build:tag` (the root `build` and `start` run it).
 *
 * @since 0.1.0
 */

/**
 * The location of the built tag (`dist/tag.js`), both when running from sources and from the published package.
 *
 * @since 0.1.0
 * @category constants
 */
export const fileUrl: URL = new URL("../dist/tag.js", import.meta.url)

/**
 * The media type to serve the tag with.
 *
 * @since 0.1.0
 * @category constants
 */
export const contentType = "text/javascript; charset=utf-8"

/**
 * The tag's size budget: at most this many bytes once gzipped (a test enforces it).
 *
 * @since 0.1.0
 * @category constants
 */
export const gzipBudgetBytes = 2200
