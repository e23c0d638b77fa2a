/**
 * The admin API's contract and its reference page. `GET /openapi.json` answers the OpenAPI 3.1 document of
 * `AdminApi`; `GET /docs` renders the same document as one HTML page on the server: every operation by group with
 * its method, path, permission, parameters, body fields and answers. No script and nothing from another origin
 * (no CDN, no web font): the page works offline, under a strict content security policy and without JavaScript.
 */
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as AdminApi from "./AdminApi.js"
import { escapeHtml } from "./console/Layout.js"

type JsonSchema = {
  readonly $ref?: string
  readonly type?: string | ReadonlyArray<string>
  readonly description?: string
  readonly title?: string
  readonly properties?: Readonly<Record<string, JsonSchema>>
  readonly required?: ReadonlyArray<string>
  readonly items?: JsonSchema
  readonly enum?: ReadonlyArray<unknown>
  readonly const?: unknown
  readonly anyOf?: ReadonlyArray<JsonSchema>
  readonly oneOf?: ReadonlyArray<JsonSchema>
  readonly allOf?: ReadonlyArray<JsonSchema>
  readonly format?: string
  readonly pattern?: string
  readonly minimum?: number
  readonly maximum?: number
  readonly minLength?: number
  readonly maxLength?: number
  readonly additionalProperties?: boolean | JsonSchema
}

interface Parameter {
  readonly name: string
  readonly in: string
  readonly required?: boolean
  readonly description?: string
  readonly schema?: JsonSchema
}

interface Operation {
  readonly tags?: ReadonlyArray<string>
  readonly operationId?: string
  readonly summary?: string
  readonly description?: string
  readonly parameters?: ReadonlyArray<Parameter>
  readonly security?: ReadonlyArray<Record<string, ReadonlyArray<string>>>
  readonly requestBody?: { readonly content: Readonly<Record<string, { readonly schema: JsonSchema }>> }
  readonly responses?: Readonly<
    Record<
      string,
      { readonly description?: string; readonly content?: Readonly<Record<string, { readonly schema: JsonSchema }>> }
    >
  >
  readonly "x-openaudience-permission"?: string
}

interface Document {
  readonly info: { readonly title: string; readonly description?: string; readonly version: string }
  readonly tags?: ReadonlyArray<{ readonly name: string; readonly description?: string }>
  readonly paths: Readonly<Record<string, Readonly<Record<string, Operation>>>>
  readonly components?: { readonly schemas?: Readonly<Record<string, JsonSchema>> }
}

const cache = new Map<string, ReturnType<typeof AdminApi.openApi>>()

/** The OpenAPI document for a server at `publicUrl` (built once per URL). */
export const spec = (publicUrl: string) => {
  let found = cache.get(publicUrl)
  if (found === undefined) {
    found = AdminApi.openApi(publicUrl)
    cache.set(publicUrl, found)
  }
  return found
}

/** Inline markdown of descriptions: `code` only (everything escaped first). */
const prose = (text: string | undefined): string =>
  text === undefined
    ? ""
    : escapeHtml(text)
        .replace(/`([^`]+)`/g, "<code>$1</code>")
        .replace(/\n\n/g, "<br><br>")

const refName = (ref: string): string => ref.slice(ref.lastIndexOf("/") + 1)

/** A one-line description of a schema's type. */
const typeOf = (schema: JsonSchema | undefined, doc: Document, depth = 0): string => {
  if (schema === undefined) return "any"
  if (schema.$ref !== undefined) return refName(schema.$ref)
  if (schema.const !== undefined) return JSON.stringify(schema.const)
  if (schema.enum !== undefined) return schema.enum.map((value) => JSON.stringify(value)).join(" | ")
  const union = schema.anyOf ?? schema.oneOf
  if (union !== undefined) return depth > 3 ? "…" : union.map((s) => typeOf(s, doc, depth + 1)).join(" | ")
  if (schema.allOf !== undefined) return schema.allOf.map((s) => typeOf(s, doc, depth + 1)).join(" & ")
  if (schema.type === "array") return `array of ${depth > 3 ? "…" : typeOf(schema.items, doc, depth + 1)}`
  if (Array.isArray(schema.type)) return schema.type.join(" | ")
  const base = typeof schema.type === "string" ? schema.type : schema.properties !== undefined ? "object" : "any"
  return schema.format === undefined ? base : `${base} (${schema.format})`
}

const constraints = (schema: JsonSchema): string => {
  const parts: Array<string> = []
  if (schema.minimum !== undefined) parts.push(`≥ ${schema.minimum}`)
  if (schema.maximum !== undefined) parts.push(`≤ ${schema.maximum}`)
  if (schema.minLength !== undefined) parts.push(`at least ${schema.minLength} characters`)
  if (schema.maxLength !== undefined) parts.push(`at most ${schema.maxLength} characters`)
  if (schema.pattern !== undefined) parts.push(`pattern <code>${escapeHtml(schema.pattern)}</code>`)
  return parts.join(", ")
}

/** The fields of an object schema (following one `$ref`), as table rows. */
const fieldRows = (schema: JsonSchema | undefined, doc: Document): string => {
  const resolved =
    schema?.$ref !== undefined ? doc.components?.schemas?.[refName(schema.$ref)] : (schema as JsonSchema | undefined)
  const properties = resolved?.properties
  if (resolved === undefined || properties === undefined) {
    return `<tr><td colspan="4">${escapeHtml(typeOf(schema, doc))}${
      resolved?.description === undefined ? "" : ` — ${prose(resolved.description)}`
    }</td></tr>`
  }
  const required = new Set(resolved.required ?? [])
  return Object.entries(properties)
    .map(
      ([name, field]) =>
        `<tr><td><code>${escapeHtml(name)}</code></td><td>${escapeHtml(typeOf(field, doc))}</td><td>${
          required.has(name) ? "required" : "optional"
        }</td><td>${[prose(field.description ?? field.title), constraints(field)].filter((s) => s !== "").join("; ")}</td></tr>`
    )
    .join("\n")
}

const fieldTable = (rows: string): string =>
  `<table><thead><tr><th>field</th><th>type</th><th></th><th>notes</th></tr></thead><tbody>${rows}</tbody></table>`

const access = (operation: Operation): string => {
  const permission = operation["x-openaudience-permission"]
  if (permission !== undefined) return `API key with <code>${escapeHtml(permission)}</code>`
  const security = operation.security ?? []
  if (security.length === 0) return "public"
  return security.some((s) => "operatorKey" in s) ? "operator key" : "API key"
}

const anchor = (method: string, path: string): string =>
  `${method}-${path}`.replace(/[^A-Za-z0-9]+/g, "-").replace(/^-|-$/g, "")

const renderOperation = (method: string, path: string, operation: Operation, doc: Document): string => {
  const parameters = operation.parameters ?? []
  const body = operation.requestBody?.content["application/json"]?.schema
  const responses = Object.entries(operation.responses ?? {})
  return `<section class="op" id="${anchor(method, path)}">
<h3><span class="method ${method}">${method.toUpperCase()}</span> <code>${escapeHtml(path)}</code></h3>
${operation.summary === undefined ? "" : `<p>${prose(operation.summary)}</p>`}
<p><strong>Access:</strong> ${access(operation)}</p>
${operation.description === undefined ? "" : `<p>${prose(operation.description)}</p>`}
${
  parameters.length === 0
    ? ""
    : `<h4>Parameters</h4><table><thead><tr><th>name</th><th>in</th><th>type</th><th></th><th>notes</th></tr></thead><tbody>${parameters
        .map(
          (p) =>
            `<tr><td><code>${escapeHtml(p.name)}</code></td><td>${escapeHtml(p.in)}</td><td>${escapeHtml(
              typeOf(p.schema, doc)
            )}</td><td>${p.required === true ? "required" : "optional"}</td><td>${[
              prose(p.description ?? p.schema?.description),
              p.schema === undefined ? "" : constraints(p.schema)
            ]
              .filter((s) => s !== "")
              .join("; ")}</td></tr>`
        )
        .join("\n")}</tbody></table>`
}
${body === undefined ? "" : `<h4>Body (<code>application/json</code>)</h4>${fieldTable(fieldRows(body, doc))}`}
<h4>Answers</h4>
<ul>${responses
    .map(([status, response]) => {
      const [type, content] = Object.entries(response.content ?? {})[0] ?? []
      return `<li><strong>${escapeHtml(status)}</strong> ${prose(response.description)}${
        content === undefined
          ? ""
          : ` — <code>${escapeHtml(type ?? "")}</code> ${escapeHtml(typeOf(content.schema, doc))}`
      }</li>`
    })
    .join("\n")}</ul>
</section>`
}

const style = `body { font: 16px/1.5 system-ui, sans-serif; margin: 0; color: #1f1f1f; }
header, main { max-width: 60rem; margin: 0 auto; padding: 1rem; }
nav ul { columns: 2; padding-left: 1.2rem; }
code { background: #f4f4f6; padding: 0 .25rem; }
table { border-collapse: collapse; width: 100%; margin: .5rem 0; font-size: .95rem; }
th, td { text-align: left; border-bottom: 1px solid #eee; padding: .3rem; vertical-align: top; }
.op { border-top: 1px solid #ddd; padding: .5rem 0 1rem; }
.method { display: inline-block; min-width: 4.5rem; text-align: center; border-radius: .3rem; color: #fff; font-size: .85rem; padding: .1rem .3rem; }
.get { background: #0b57d0; } .post { background: #137333; } .put, .patch { background: #b06000; } .delete { background: #b3261e; }
a:focus-visible { outline: 3px solid #f9ab00; outline-offset: 2px; }`

/** The reference page of the document. */
export const render = (doc: Document): string => {
  const byTag = new Map<string, Array<string>>()
  const index: Array<string> = []
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const [method, operation] of Object.entries(item)) {
      const tag = operation.tags?.[0] ?? "Other"
      const list = byTag.get(tag) ?? []
      list.push(renderOperation(method, path, operation, doc))
      byTag.set(tag, list)
      index.push(
        `<li><a href="#${anchor(method, path)}">${method.toUpperCase()} <code>${escapeHtml(path)}</code></a></li>`
      )
    }
  }
  const tagDescription = (name: string) => doc.tags?.find((tag) => tag.name === name)?.description
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(doc.info.title)} reference</title>
<style>
${style}
</style>
</head>
<body>
<header>
<h1>${escapeHtml(doc.info.title)} <small>${escapeHtml(doc.info.version)}</small></h1>
<p>${prose(doc.info.description)}</p>
<p>The machine-readable contract: <a href="/openapi.json">/openapi.json</a> (OpenAPI 3.1).</p>
<nav aria-label="Operations"><ul>${index.join("\n")}</ul></nav>
</header>
<main>
${[...byTag.entries()]
  .map(
    ([tag, operations]) =>
      `<h2 id="${anchor("group", tag)}">${escapeHtml(tag)}</h2>${
        tagDescription(tag) === undefined ? "" : `<p>${prose(tagDescription(tag))}</p>`
      }\n${operations.join("\n")}`
  )
  .join("\n")}
</main>
</body>
</html>`
}

const pages = new Map<string, string>()

/** `GET /docs`: the reference page, with a policy that allows nothing but its own inline style. */
export const respond = (publicUrl: string) => {
  let html = pages.get(publicUrl)
  if (html === undefined) {
    html = render(spec(publicUrl) as unknown as Document)
    pages.set(publicUrl, html)
  }
  return HttpServerResponse.html(html).pipe(
    HttpServerResponse.setHeaders({
      "cache-control": "no-cache",
      "content-security-policy":
        "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
      "referrer-policy": "no-referrer",
      "x-content-type-options": "nosniff"
    })
  )
}
