/**
 * The console's tenant pages: sites (each with its tag snippet from @openaudience/pixel's `Snippet`), API keys (a
 * new key shown once; revoke) and, for owners, users (invite, list, remove).
 */
import type { User } from "@openaudience/accounts"
import { Snippet } from "@openaudience/pixel"
import type { TenancyStore } from "@openaudience/tenancy"
import { escapeHtml, field, form, type Message, page, type Viewer } from "./Layout.js"

const date = (at: number | null): string =>
  at === null ? "" : new Date(at).toISOString().slice(0, 16).replace("T", " ")

/** The sites page. */
export const sites = (viewer: Viewer, endpoint: string, list: ReadonlyArray<TenancyStore.Site>): string =>
  page({
    title: "Sites",
    viewer,
    body:
      list.length === 0
        ? "<p>No site yet: add one with the API (<code>POST /v1/sites</code>) or the CLI (<code>pnpm openaudience site add</code>).</p>"
        : list
            .map(
              (site) => `<section class="site">
<h2>${escapeHtml(site.siteKey)}</h2>
<p>Pages: ${site.origins.map((origin) => `<code>${escapeHtml(origin)}</code>`).join(" ")}${
                site.cookieless ? " · cookieless" : ""
              }${site.childDirected ? " · child-directed" : ""}</p>
<p>Paste this into the <code>&lt;head&gt;</code> of its pages:</p>
<pre class="snippet">${escapeHtml(Snippet.snippet(endpoint, site.siteKey))}</pre>
</section>`
            )
            .join("\n")
  })

const roles = (allowed: ReadonlyArray<string>) =>
  `<label for="role">Role</label>
<select id="role" name="role">${allowed.map((role) => `<option value="${role}">${role}</option>`).join("")}</select>`

/** The API keys page; `created` is a key just made, shown this once. */
export const keys = (
  viewer: Viewer,
  list: ReadonlyArray<TenancyStore.ApiKey>,
  created?: { readonly id: string; readonly key: string },
  message?: Message
): string =>
  page({
    title: "API keys",
    viewer,
    message,
    body: `${
      created === undefined
        ? ""
        : `<div class="notice" role="status"><p>Your new key (shown this once: copy it now):</p>
<pre id="new-key">${escapeHtml(created.key)}</pre></div>`
    }
<table>
<thead><tr><th>id</th><th>prefix</th><th>role</th><th>created</th><th>last used</th><th>status</th><th></th></tr></thead>
<tbody>
${list
  .map(
    (key) =>
      `<tr data-key="${escapeHtml(key.id)}"><td>${escapeHtml(key.id)}</td><td><code>${escapeHtml(key.prefix)}</code></td><td>${escapeHtml(
        key.role
      )}${key.partner === null ? "" : ` (${escapeHtml(key.partner)})`}</td><td>${date(key.createdAt)}</td><td>${date(
        key.lastUsedAt
      )}</td><td>${key.revokedAt === null ? "active" : `revoked ${date(key.revokedAt)}`}</td><td>${
        key.revokedAt === null
          ? form(
              `/console/keys/${encodeURIComponent(key.id)}/revoke`,
              viewer.csrf,
              `<button type="submit" class="danger">Revoke</button>`
            )
          : ""
      }</td></tr>`
  )
  .join("\n")}
</tbody>
</table>
<h2>New key</h2>
${form(
  "/console/keys",
  viewer.csrf,
  `${roles(viewer.role === "owner" ? ["admin", "analyst", "privacy", "ingest", "owner"] : ["admin", "analyst", "privacy", "ingest"])}
<button type="submit">Create a key</button>`
)}`
  })

/** The users page (owners). */
export const users = (viewer: Viewer, list: ReadonlyArray<User.User>, message?: Message): string =>
  page({
    title: "Users",
    viewer,
    message,
    body: `<table>
<thead><tr><th>email</th><th>name</th><th>role</th><th>status</th><th>second factor</th><th></th></tr></thead>
<tbody>
${list
  .map(
    (user) =>
      `<tr data-user="${escapeHtml(user.id)}"><td>${escapeHtml(user.email)}</td><td>${escapeHtml(
        [user.firstName, user.lastName].filter((part) => part !== null).join(" ")
      )}</td><td>${escapeHtml(user.role)}</td><td>${escapeHtml(user.status)}</td><td>${user.totp ? "on" : "off"}</td><td>${form(
        `/console/users/${encodeURIComponent(user.id)}/remove`,
        viewer.csrf,
        `<button type="submit" class="danger">Remove</button>`
      )}</td></tr>`
  )
  .join("\n")}
</tbody>
</table>
<h2>Invite someone</h2>
${form(
  "/console/users",
  viewer.csrf,
  `${field("email", "Email address", { type: "email", required: true })}
${roles(["admin", "analyst", "privacy", "owner"])}
<button type="submit">Send the invitation</button>`
)}`
  })
