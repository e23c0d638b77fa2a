/**
 * The console's shared page layout: one HTML document shape with its small inline stylesheet (no CDN, no external
 * asset, no script), the navigation of signed-in pages, message boxes, and the helpers every template uses:
 * `escapeHtml` for every value put into the page and `csrf` for the hidden token of every form.
 */

/** Escapes text for HTML element content and double-quoted attribute values. */
export const escapeHtml = (text: string): string =>
  text.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!)

/** The hidden CSRF field of a form. */
export const csrf = (token: string): string => `<input type="hidden" name="_csrf" value="${escapeHtml(token)}">`

/** A form posting to `action`, with its CSRF field. */
export const form = (action: string, token: string, body: string, attributes = ""): string =>
  `<form method="post" action="${escapeHtml(action)}"${attributes}>\n${csrf(token)}\n${body}\n</form>`

/** A labelled input. */
export const field = (
  name: string,
  label: string,
  options: {
    readonly type?: string
    readonly value?: string | null
    readonly autocomplete?: string
    readonly required?: boolean
  } = {}
): string =>
  `<label for="${name}">${escapeHtml(label)}</label>
<input id="${name}" name="${name}" type="${options.type ?? "text"}"${
    options.value === undefined || options.value === null ? "" : ` value="${escapeHtml(options.value)}"`
  }${options.autocomplete === undefined ? "" : ` autocomplete="${options.autocomplete}"`}${options.required === true ? " required" : ""}>`

/** A message above a page's content: an error (`role="alert"`) or a notice. */
export interface Message {
  readonly kind: "error" | "notice"
  readonly text: string
}

const messageBox = (message: Message | undefined): string =>
  message === undefined
    ? ""
    : `<p class="${message.kind}" role="${message.kind === "error" ? "alert" : "status"}">${escapeHtml(message.text)}</p>`

/** Who is signed in, for the navigation of signed-in pages. */
export interface Viewer {
  readonly role: string
  readonly csrf: string
}

const navigation = (viewer: Viewer): string => `<nav>
<a href="/console/sites">Sites</a> <a href="/console/keys">API keys</a>${
  viewer.role === "owner" ? ` <a href="/console/users">Users</a>` : ""
} <a href="/console/account">My account</a>
${form("/console/logout", viewer.csrf, `<button type="submit" class="link">Sign out</button>`, ' class="inline"')}
</nav>`

const style = `body { font-family: system-ui, sans-serif; max-width: 52rem; margin: 2rem auto; padding: 0 1rem; line-height: 1.5; color: #1d1d1f; }
nav { display: flex; gap: 1rem; align-items: center; border-bottom: 1px solid #ddd; padding-bottom: .5rem; margin-bottom: 1rem; }
nav form.inline { margin-left: auto; }
label { display: block; margin-top: .75rem; font-weight: 600; }
input, select { font: inherit; padding: .4rem; width: 100%; max-width: 28rem; box-sizing: border-box; }
button { font: inherit; margin-top: 1rem; padding: .5rem 1rem; border-radius: .4rem; border: 1px solid #0b57d0; background: #0b57d0; color: #fff; cursor: pointer; }
button.link { margin: 0; background: none; color: #0b57d0; border: none; padding: 0; text-decoration: underline; }
button.danger { background: #b3261e; border-color: #b3261e; }
table { border-collapse: collapse; width: 100%; margin-top: 1rem; }
th, td { text-align: left; border-bottom: 1px solid #eee; padding: .4rem; vertical-align: top; }
pre { background: #f4f4f6; padding: .5rem; overflow-x: auto; white-space: pre-wrap; word-break: break-all; }
code { background: #f4f4f6; padding: 0 .25rem; }
.error { background: #fce8e6; padding: .6rem 1rem; border-radius: .4rem; }
.notice { background: #e6f4ea; padding: .6rem 1rem; border-radius: .4rem; }
a:focus-visible, button:focus-visible, input:focus-visible { outline: 3px solid #f9ab00; outline-offset: 2px; }`

/** A whole console page. */
export const page = (options: {
  readonly title: string
  readonly body: string
  readonly viewer?: Viewer | undefined
  readonly message?: Message | undefined
}): string => `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${escapeHtml(options.title)} · OpenAudience console</title>
<style>
${style}
</style>
</head>
<body>
${options.viewer === undefined ? "" : navigation(options.viewer)}
<main>
<h1>${escapeHtml(options.title)}</h1>
${messageBox(options.message)}
${options.body}
</main>
</body>
</html>`

/** An error message, or none. */
export const error = (text: string | undefined): Message | undefined =>
  text === undefined ? undefined : { kind: "error", text }

/** A notice, or none. */
export const notice = (text: string | undefined): Message | undefined =>
  text === undefined ? undefined : { kind: "notice", text }
