/**
 * Rendered and viewable impressions, counted separately, from inside the ad's own HTML document (the iframe the
 * ad server answers `GET /ad` with).
 *
 * - Rendered: `renderedPixel` is an `<img>` placed in the ad's document. The browser requests it when it loads the
 *   ad, with or without JavaScript (an iframe sandboxed without scripts still counts), and only then: a decision
 *   answered but never loaded is not rendered.
 * - Viewable (the MRC display standard): at least 50 % of the ad in view for at least one continuous second. The
 *   script (`source`, embedded by `script`/`scriptTag`) watches the ad's root element with an
 *   `IntersectionObserver` (threshold 0.5; inside an iframe it measures against the top-level viewport, so it works
 *   from a cross-origin ad frame). When at least half of the ad is in view and the page is visible it starts a
 *   1000 ms timer; leaving the view or the page being hidden (`document.visibilityState`, another tab, a minimized
 *   window) cancels it, and the next second starts from zero. When the timer completes it sends one beacon to the
 *   viewable URL and stops watching: at most one per page. The beacon is `navigator.sendBeacon` (a POST without
 *   body), else `fetch` with `keepalive` (POST, no cookies), else an image (GET): the server's route accepts POST
 *   and GET. A browser without `IntersectionObserver` cannot measure, and sends nothing.
 *
 * Both URLs carry what identifies the decision (for example a signed token like the click's); this module only
 * embeds them safely: the script receives its options as JSON with `<`, `>`, `&`, U+2028 and U+2029 escaped, so no
 * string can close the `<script>` element, open a comment or break the JavaScript; the pixel's URL is escaped for
 * an HTML attribute.
 *
 * @since 0.1.0
 */

/**
 * The viewability script, hand-written ES2017 without dependencies: a function expression taking
 * `{ viewableUrl, rootId? }` (the id of the ad's root element; default the document's body). Embed it with
 * `script` rather than directly.
 *
 * @since 0.1.0
 * @category constants
 */
export const source = `function (c) {
  "use strict";
  var d = document, n = navigator, sent = false, inView = false, timer = 0, io = null;
  function send(u) {
    try { if (n.sendBeacon && n.sendBeacon(u)) return; } catch (e) {}
    try {
      if (typeof fetch === "function") {
        fetch(u, { method: "POST", keepalive: true, mode: "no-cors", credentials: "omit" }).catch(function () {});
        return;
      }
    } catch (e) {}
    new Image().src = u;
  }
  function fire() {
    timer = 0;
    if (sent || !inView || d.visibilityState === "hidden") return;
    sent = true;
    io.disconnect();
    d.removeEventListener("visibilitychange", update);
    send(c.viewableUrl);
  }
  function update() {
    if (sent) return;
    if (inView && d.visibilityState !== "hidden") {
      if (!timer) timer = setTimeout(fire, 1000);
    } else if (timer) {
      clearTimeout(timer);
      timer = 0;
    }
  }
  if (typeof IntersectionObserver !== "function") return;
  var root = (c.rootId && d.getElementById(c.rootId)) || d.body || d.documentElement;
  io = new IntersectionObserver(function (entries) {
    var e = entries[entries.length - 1];
    if (e) inView = e.isIntersecting && e.intersectionRatio >= 0.5;
    update();
  }, { threshold: 0.5 });
  io.observe(root);
  d.addEventListener("visibilitychange", update);
}`

/**
 * What the script needs: the URL that counts the viewable impression and, optionally, the id of the ad's root
 * element.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  readonly viewableUrl: string
  readonly rootId?: string | undefined
}

const unsafeInScript = /[<>&\u2028\u2029]/g

/**
 * JSON that is safe inside an inline `<script>`: `<`, `>`, `&`, U+2028 and U+2029 written as `\uXXXX` escapes,
 * which every JavaScript engine reads back as the same characters.
 *
 * @since 0.1.0
 * @category combinators
 */
export const jsonForScript = (value: unknown): string =>
  JSON.stringify(value).replace(unsafeInScript, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, "0")}`)

/**
 * The inline script for one ad: `source` called with `options`, safely embedded. Put it in a `<script>` element
 * at the end of the ad's body (or use `scriptTag`).
 *
 * @since 0.1.0
 * @category constructors
 */
export const script = (options: Options): string =>
  `(${source})(${jsonForScript(
    options.rootId === undefined
      ? { viewableUrl: String(options.viewableUrl) }
      : { viewableUrl: String(options.viewableUrl), rootId: String(options.rootId) }
  )});`

const htmlEscapes: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }
const htmlSpecial = /[&<>"']/
const htmlSpecials = /[&<>"']/g

/**
 * Escapes text for an HTML attribute value or text content.
 *
 * @since 0.1.0
 * @category combinators
 */
export const escapeHtml = (text: string): string => {
  const s = String(text)
  // Most of an ad's values (ids, tokens, URLs) have nothing to escape: one scan, no replacement pass.
  return htmlSpecial.test(s) ? s.replace(htmlSpecials, (ch) => htmlEscapes[ch]!) : s
}

/**
 * The `<script>` element for one ad, with a CSP `nonce` if the ad's document has a policy that asks for one.
 *
 * @since 0.1.0
 * @category constructors
 */
export const scriptTag = (options: Options & { readonly nonce?: string | undefined }): string =>
  `<script${options.nonce === undefined ? "" : ` nonce="${escapeHtml(options.nonce)}"`}>${script(options)}</script>`

/**
 * The rendered-impression pixel: a 1×1 invisible `<img>` requesting `renderedUrl` (GET) when the ad's document
 * loads. No referrer is sent.
 *
 * @since 0.1.0
 * @category constructors
 */
export const renderedPixel = (renderedUrl: string): string =>
  `<img src="${escapeHtml(renderedUrl)}" alt="" width="1" height="1" aria-hidden="true" referrerpolicy="no-referrer" style="position:absolute;width:1px;height:1px;opacity:0;pointer-events:none">`
