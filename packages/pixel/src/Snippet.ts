/**
 * The asynchronous snippet integrators paste into their pages. It defines a queueing `oa` function, loads
 * `<endpoint>/tag.js` without blocking the page and queues `oa('init', siteKey, { endpoint })`; the tag replays
 * the queue when it arrives, so calls made before it loads are not lost.
 *
 * @since 0.1.0
 */

// JSON is valid JavaScript; these escapes also keep it from closing the <script> element or a line.
const safe = (json: string): string =>
  json
    .replace(/</g, "\\u003c")
    .replace(/>/g, "\\u003e")
    .replace(/\u2028/g, "\\u2028")
    .replace(/\u2029/g, "\\u2029")

/**
 * Tag options that can be written into the snippet (functions such as `beforeSend` cannot: for those, paste
 * the snippet as the README writes it out and add them to its `oa('init', …)` call).
 *
 * @since 0.1.0
 * @category models
 */
export interface SnippetOptions {
  /** Track clicks on `[data-oa-label]` elements, scroll depth and time on page. */
  readonly engagement?: boolean
  /** Send a page view on single-page-app route changes (default `true`). */
  readonly spa?: boolean
  /** Your IAB TCF vendor id: with a CMP on the page, no visitor id without purpose 1 consent and this vendor's consent. */
  readonly tcfVendorId?: number
  /** How long events wait for the CMP's first answer before they go without a visitor id, ms (default 500). */
  readonly cmpTimeout?: number
}

/**
 * The snippet's JavaScript (without the `<script>` element), for a collector endpoint such as
 * `https://collect.example.com` (no trailing slash needed) and a site key.
 *
 * @since 0.1.0
 * @category constructors
 */
export const snippetJs = (endpoint: string, siteKey: string, options: SnippetOptions = {}): string => {
  const base = endpoint.replace(/\/+$/, "")
  const init: Record<string, unknown> = { endpoint: base }
  if (options.engagement !== undefined) init.engagement = options.engagement === true
  if (options.spa !== undefined) init.spa = options.spa === true
  if (options.tcfVendorId !== undefined) init.tcfVendorId = options.tcfVendorId
  if (options.cmpTimeout !== undefined) init.cmpTimeout = options.cmpTimeout
  return (
    "(function(w,d,e,k){" +
    "w.oa=w.oa||function(){(w.oa.q=w.oa.q||[]).push(arguments)};" +
    'var s=d.createElement("script");s.async=true;s.src=e+"/tag.js";' +
    "(d.head||d.documentElement).appendChild(s);" +
    `w.oa("init",k,${safe(JSON.stringify(init))})` +
    `})(window,document,${safe(JSON.stringify(base))},${safe(JSON.stringify(siteKey))});`
  )
}

/**
 * The snippet as an HTML `<script>` element, ready to paste into a page's `<head>`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const snippet = (endpoint: string, siteKey: string, options?: SnippetOptions): string =>
  `<script>${snippetJs(endpoint, siteKey, options)}</script>`
