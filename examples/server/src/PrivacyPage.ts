/**
 * The privacy center's pages (HTML only, no script, nothing from another origin): what is held about this browser,
 * grouped the way a visitor thinks of it (visits and the products seen, audiences with why, ads shown and clicked,
 * consent receipts), with the download, delete and opt-out buttons; the confirmation before erasure; and the page
 * that shows the signed erasure reports. Every value is escaped.
 */
import type { Registry } from "@openaudience/dsar"
import { escapeHtml } from "./console/Layout.js"

/** How each store's records are introduced to a visitor, in the order the center shows them. */
const sections: ReadonlyArray<{
  readonly stores: ReadonlyArray<string>
  readonly title: string
  readonly about: string
}> = [
  {
    stores: ["events", "event-log"],
    title: "Visits and products seen",
    about:
      "Events the OpenAudience tag sent from shops you visited: the page, the type of event, its time, the products, and the consent receipt (which signals your browser sent and what was decided)."
  },
  {
    stores: ["audience-memberships", "audience-visitors", "audiences"],
    title: "Audiences",
    about:
      "Groups of visitors a shop targets ads to, with the rule that put you in each and until when you stay. An audience only ever lists a pseudonymous identifier, never your name."
  },
  {
    stores: ["ad-decisions", "ad-conversions", "ad-caps", "ad-browser-links", "ads"],
    title: "Ads shown and clicked",
    about:
      "Ads chosen for this browser on other sites: which campaign, when it was shown, seen and clicked, how often ads may still be shown to you (frequency caps), and purchases credited to an ad."
  }
]

const sectionOf = (store: string) =>
  sections.find((section) => section.stores.includes(store) || section.stores.some((name) => store.startsWith(name)))

const cell = (value: unknown): string => {
  if (value === null || value === undefined) return ""
  if (typeof value === "string") return escapeHtml(value)
  if (typeof value === "number" || typeof value === "boolean") return escapeHtml(String(value))
  return `<code>${escapeHtml(JSON.stringify(value))}</code>`
}

const time = (at: number | undefined): string =>
  at === undefined || !Number.isFinite(at) ? "" : escapeHtml(new Date(at).toISOString().replace("T", " ").slice(0, 19))

/** At most this many records per store are shown (the download holds them all). */
export const shownPerStore = 200

const table = (records: ReadonlyArray<Registry.ExportedRecord>): string => {
  const columns = [...new Set(records.flatMap((record) => Object.keys(record.fields)))].slice(0, 12)
  const rows = records
    .slice(0, shownPerStore)
    .map(
      (record) =>
        `<tr><td>${time(record.at)}</td><td>${escapeHtml(record.kind)}</td>${columns
          .map((column) => `<td>${cell(record.fields[column])}</td>`)
          .join("")}</tr>`
    )
    .join("\n")
  const more = records.length > shownPerStore ? `<p>${records.length - shownPerStore} more in the download.</p>` : ""
  return `<div class="scroll"><table>
<thead><tr><th>Time (UTC)</th><th>Kind</th>${columns.map((column) => `<th>${escapeHtml(column)}</th>`).join("")}</tr></thead>
<tbody>
${rows}
</tbody>
</table></div>${more}`
}

/** What the center shows: the records found, grouped by store. */
export interface CenterView {
  readonly records: ReadonlyArray<Registry.ExportedRecord>
  readonly retained: ReadonlyArray<Registry.Retained>
  readonly optedOut: boolean
  readonly message?: string | undefined
  readonly reports?: ReadonlyArray<{ readonly requestId: string; readonly tenant: string }> | undefined
}

const style = `body { font-family: system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem; line-height: 1.5; color: #1d1d1f; }
section { margin: 1.5rem 0; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; font-size: .9rem; }
th, td { border-bottom: 1px solid #ddd; padding: .3rem .5rem; text-align: left; vertical-align: top; }
code { font-size: .8rem; word-break: break-all; }
.actions { display: flex; flex-wrap: wrap; gap: .75rem; align-items: center; }
.actions form { margin: 0; }
button, .button { font: inherit; padding: .6rem 1.2rem; border-radius: .4rem; border: 1px solid #0b57d0; background: #0b57d0; color: #fff; cursor: pointer; text-decoration: none; display: inline-block; }
button.danger { background: #b3261e; border-color: #b3261e; }
button.secondary, .button.secondary { background: #fff; color: #0b57d0; }
.status { padding: .75rem 1rem; border-radius: .5rem; background: #eef3fd; }
button:focus-visible, a:focus-visible { outline: 3px solid #f9ab00; outline-offset: 2px; }`

/** A whole page of the center. */
export const layout = (title: string, body: string): string => `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)} · OpenAudience</title>
<style>
${style}
</style>
</head>
<body>
<main>
${body}
</main>
</body>
</html>`

const retainedList = (retained: ReadonlyArray<Registry.Retained>): string =>
  retained.length === 0
    ? ""
    : `<h2>What is kept after a deletion, and why</h2>
<ul>
${retained.map((entry) => `<li><strong>${escapeHtml(entry.what)}</strong>: ${escapeHtml(entry.why)}</li>`).join("\n")}
</ul>`

/** The center: what is held, and the buttons. The same page whether nothing is held or the browser is unknown. */
export const center = (view: CenterView): string => {
  const byStore = new Map<string, Array<Registry.ExportedRecord>>()
  for (const record of view.records) {
    const list = byStore.get(record.store) ?? []
    list.push(record)
    byStore.set(record.store, list)
  }
  const shown = new Set<string>()
  const blocks: Array<string> = []
  for (const section of sections) {
    const stores = [...byStore.keys()].filter((store) => sectionOf(store) === section)
    for (const store of stores) shown.add(store)
    const records = stores.flatMap((store) => byStore.get(store)!)
    blocks.push(`<section aria-labelledby="${escapeHtml(section.stores[0]!)}">
<h2 id="${escapeHtml(section.stores[0]!)}">${escapeHtml(section.title)} (${records.length})</h2>
<p>${escapeHtml(section.about)}</p>
${records.length === 0 ? "<p>Nothing is held.</p>" : stores.map((store) => `<h3>${escapeHtml(store)}</h3>\n${table(byStore.get(store)!)}`).join("\n")}
</section>`)
  }
  const others = [...byStore.keys()].filter((store) => !shown.has(store))
  if (others.length > 0) {
    blocks.push(`<section aria-labelledby="other">
<h2 id="other">Other records</h2>
${others.map((store) => `<h3>${escapeHtml(store)}</h3>\n${table(byStore.get(store)!)}`).join("\n")}
</section>`)
  }
  const held = view.records.length
  const reports =
    view.reports === undefined || view.reports.length === 0
      ? ""
      : `<section aria-labelledby="reports"><h2 id="reports">Erasure reports</h2>
<p>Each report lists every store that was checked after the deletion, signed with the key published at <a href="/.well-known/openaudience-dsar-key">/.well-known/openaudience-dsar-key</a>.</p>
<ul>
${view.reports.map((report) => `<li><a href="/privacy/report/${encodeURIComponent(report.requestId)}">Report ${escapeHtml(report.requestId)}</a> (${escapeHtml(report.tenant)})</li>`).join("\n")}
</ul></section>`
  return layout(
    "Your ad data",
    `<h1>Your ad data</h1>
${view.message === undefined ? "" : `<p class="status" role="status"><strong>${escapeHtml(view.message)}</strong></p>`}
<p>This page shows what OpenAudience holds about <strong>this browser</strong>: it recognises the browser by the identifiers the browser itself holds (a cookie of the shop you came from, and the cookie of the ad server), never by your name. Nothing here is shared with the sites you visit.</p>
<p class="status" id="summary">${held === 0 ? "Nothing is held about this browser." : `${held} records are held about this browser.`}${view.optedOut ? " You are opted out of interest-based ads in this browser." : ""}</p>
<div class="actions">
<a class="button secondary" id="download-json" href="/privacy/download.json" download>Download my data</a>
<a class="button secondary" id="download-zip" href="/privacy/download.zip" download>Download as CSV (zip)</a>
<form method="get" action="/privacy/delete"><button type="submit" class="danger" id="delete">Delete my data</button></form>
<form method="post" action="/optout"><input type="hidden" name="action" value="optout"><button type="submit" class="secondary" id="optout"${view.optedOut ? " disabled" : ""}>Opt out of interest-based ads</button></form>
</div>
${reports}
${blocks.join("\n")}
${retainedList(view.retained)}
`
  )
}

/** The confirmation before an erasure (a plain form: the erasure runs only on its POST). */
export const confirmDelete = (held: number): string =>
  layout(
    "Delete my data",
    `<h1>Delete my data</h1>
<p>This deletes everything held about this browser (${held} records): its visits and the products seen, its audiences, the ads shown and clicked, its frequency caps and the links between the shops you visited. It cannot be undone. Your next visit to a shop gets a new identifier that cannot be linked to the old one.</p>
<p>When it is done you get a report, signed by the server, that lists every store checked after the deletion.</p>
<form method="post" action="/privacy/delete">
<input type="hidden" name="confirm" value="yes">
<button type="submit" class="danger" id="confirm-delete">Yes, delete my data</button>
<a class="button secondary" href="/privacy">Cancel</a>
</form>`
  )
