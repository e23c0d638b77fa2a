/**
 * The audiences admin API (`/v1/audiences`, admin key): create, list, read, replace and delete audiences; preview a
 * rule's size over stored events before activating it; per-audience statistics; and the explanation of one
 * visitor's membership. Definitions go to the AudienceStore; the worker applies them (compiling, backfilling) and
 * its progress shows in the statistics. Rules are validated here with the path of the error, so the worker only
 * ever sees audiences that compile together.
 */
import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import { AudienceRule, Batch, Explain, MembershipStore, Program, Size, VisitorState } from "@openaudience/audience"
import { AudienceStore, EventStore, SqlSyncStore } from "@openaudience/storage-sql"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { randomBytes } from "node:crypto"
import * as JsonBody from "./JsonBody.js"
import * as Access from "./Access.js"
import * as AdminApi from "./AdminApi.js"
import * as Audit from "./Audit.js"
import * as Problem from "./Problem.js"

/** Audiences per tenant: what one compiled program holds comfortably (the benchmarks run 100). */
export const maxAudiences = 100
/** The size floor: an audience with fewer members is not targetable (privacy invariant 6). */
export const k = Size.defaultK
/** Largest accepted request body. */
const maxBodyBytes = 64 * 1024
/** Visitors read per page while previewing. */
const previewPage = 500

const idPattern = /^[a-z0-9][a-z0-9_-]{0,63}$/

const json = (body: unknown, status = 200, headers: Record<string, string> = {}) =>
  HttpServerResponse.unsafeJson(body, { status, headers: { "cache-control": "no-store", ...headers } })

const view = (a: AudienceStore.StoredAudience) => ({
  id: a.id,
  name: a.name,
  status: a.status,
  version: a.version,
  rule: a.rule,
  createdAt: new Date(a.createdAt).toISOString(),
  updatedAt: new Date(a.updatedAt).toISOString()
})

/** The caller, authorized for what the route declares (`Access.routes`). */
const admin = Access.principal

/** The rule document of a body, validated; errors name the path (`rule.conditions[0].within.days: …`). */
const ruleOf = (input: unknown) => {
  if (input === undefined) return Problem.fail("invalid-rule", "rule: required", { field: "rule" })
  const decoded = AudienceRule.decodeEither(input)
  if (decoded._tag === "Right") return Effect.succeed(decoded.right)
  const error = decoded.left
  const field = error.path.startsWith("rule") ? error.path : `rule.${error.path}`
  return Problem.fail("invalid-rule", `${field}: ${error.message}`, {
    field,
    reason: error.reason,
    ...(error.limit === undefined ? {} : { limit: error.limit })
  })
}

const nameOf = (input: unknown) =>
  typeof input === "string" && input.trim().length >= 1 && input.length <= 200
    ? Effect.succeed(input)
    : Problem.fail("invalid-body", "name: expected a string of 1 to 200 characters", { field: "name" })

const statusOf = (input: unknown) =>
  input === undefined
    ? Effect.succeed<AudienceStore.Status>("active")
    : input === "active" || input === "draft"
      ? Effect.succeed<AudienceStore.Status>(input)
      : Problem.fail("invalid-body", `status: expected "active" or "draft", got ${JSON.stringify(input)}`, {
          field: "status"
        })

/** The audience input of a create or replace body. */
const inputOf = (input: Record<string, unknown>) =>
  Effect.gen(function* () {
    const name = yield* nameOf(input.name)
    const status = yield* statusOf(input.status)
    const rule = yield* ruleOf(input.rule)
    return { name, status, rule }
  })

/** Refuses a set of active audiences that would not compile into one program. */
const compiles = (audiences: ReadonlyArray<{ readonly id: string; readonly rule: AudienceRule.AudienceRule }>) => {
  const program = Program.makeEither(audiences)
  return program._tag === "Right"
    ? Effect.void
    : Problem.fail("invalid-rule", `rule: ${program.left.message}`, { field: "rule", reason: program.left.reason })
}

const idParam = Effect.map(HttpRouter.params, (params) => params.id ?? "")

const found = <A>(option: Option.Option<A>, id: string) =>
  Option.isSome(option) ? Effect.succeed(option.value) : Problem.fail("not-found", `no audience ${id}`)

/** `POST /v1/audiences`: `{ name, rule, status?: "active" | "draft", id? }` → 201 with the audience. */
const create = Effect.gen(function* () {
  const { tenant } = yield* admin
  const input = yield* JsonBody.decode(AdminApi.AudienceRequest, maxBodyBytes)
  const audience = yield* inputOf(input)
  let id: string
  if (input.id === undefined) id = `aud_${randomBytes(8).toString("hex")}`
  else if (typeof input.id === "string" && idPattern.test(input.id)) id = input.id
  else {
    return yield* Problem.fail(
      "invalid-body",
      "id: expected 1 to 64 characters of a-z, 0-9, _ and -, starting with a letter or digit",
      { field: "id" }
    )
  }
  const store = yield* AudienceStore.AudienceStore
  const existing = yield* store.list(tenant.id)
  if (existing.length >= maxAudiences) {
    return yield* Problem.fail("conflict", `a tenant can have at most ${maxAudiences} audiences; delete one first`)
  }
  if (existing.some((a) => a.id === id)) return yield* Problem.fail("conflict", `an audience ${id} already exists`)
  if (audience.status === "active") {
    yield* compiles([...existing.filter((a) => a.status === "active"), { id, rule: audience.rule }])
  }
  const now = yield* Clock.currentTimeMillis
  const stored = yield* store.create(tenant.id, id, audience, now)
  return json(view(stored), 201, { location: `/v1/audiences/${id}` })
})

/** `GET /v1/audiences`. */
const list = Effect.gen(function* () {
  const { tenant } = yield* admin
  const store = yield* AudienceStore.AudienceStore
  return json({ audiences: (yield* store.list(tenant.id)).map(view) })
})

/** `GET /v1/audiences/:id`. */
const read = Effect.gen(function* () {
  const { tenant } = yield* admin
  const id = yield* idParam
  const store = yield* AudienceStore.AudienceStore
  return json(view(yield* found(yield* store.get(tenant.id, id), id)))
})

/** `PUT /v1/audiences/:id`: `{ name, rule, status? }` replaces the audience (its version grows by one). */
const replace = Effect.gen(function* () {
  const { tenant } = yield* admin
  const id = yield* idParam
  const input = yield* JsonBody.decode(AdminApi.AudienceReplace, maxBodyBytes)
  const audience = yield* inputOf(input)
  const store = yield* AudienceStore.AudienceStore
  const existing = yield* store.list(tenant.id)
  if (!existing.some((a) => a.id === id)) return yield* Problem.fail("not-found", `no audience ${id}`)
  if (audience.status === "active") {
    yield* compiles([...existing.filter((a) => a.status === "active" && a.id !== id), { id, rule: audience.rule }])
  }
  const now = yield* Clock.currentTimeMillis
  return json(view(yield* found(yield* store.update(tenant.id, id, audience, now), id)))
})

/** `DELETE /v1/audiences/:id`: 204; the worker then drops its memberships. */
const remove = Effect.gen(function* () {
  const { tenant } = yield* admin
  const id = yield* idParam
  const store = yield* AudienceStore.AudienceStore
  if (!(yield* store.remove(tenant.id, id))) return yield* Problem.fail("not-found", `no audience ${id}`)
  return HttpServerResponse.empty({ status: 204 })
})

const estimateOf = (size: Size.Size | number) => {
  const estimate = typeof size === "number" ? Size.exactly(size) : Size.estimate(size)
  return {
    size: estimate,
    targetable: Size.isTargetable(estimate, k),
    k
  }
}

/** The size of `rule` over the tenant's stored events at the clock's time (every visitor replayed). */
const previewRule = (tenant: string, rule: AudienceRule.AudienceRule) =>
  Effect.gen(function* () {
    const events = yield* EventStore.EventStore
    const now = yield* Clock.currentTimeMillis
    let size = Size.make()
    let visitors = 0
    let scanned = 0
    let after: string | undefined
    for (;;) {
      const page: ReadonlyArray<string> = yield* events.visitors(tenant, after, previewPage)
      if (page.length === 0) break
      const history = yield* events.byVisitors(tenant, page)
      size = Size.merge(size, Batch.preview(rule, history, now))
      scanned += history.length
      visitors += page.length
      after = page[page.length - 1]
      yield* Effect.yieldNow()
    }
    return { ...estimateOf(size), visitors, events: scanned, at: new Date(now).toISOString() }
  })

/** `POST /v1/audiences/preview`: `{ rule }` → the size it would have now, and whether it would be targetable. */
const preview = Effect.gen(function* () {
  const { tenant } = yield* admin
  const input = yield* JsonBody.decode(AdminApi.PreviewRequest, maxBodyBytes)
  const rule = yield* ruleOf(input.rule)
  return json(yield* previewRule(tenant.id, rule))
})

/** `POST /v1/audiences/:id/preview`: the same for a stored audience (a draft, typically). */
const previewStored = Effect.gen(function* () {
  const { tenant } = yield* admin
  const id = yield* idParam
  const store = yield* AudienceStore.AudienceStore
  const audience = yield* found(yield* store.get(tenant.id, id), id)
  return json({ id, version: audience.version, ...(yield* previewRule(tenant.id, audience.rule)) })
})

/** Where the worker stands with the tenant's audiences. */
const syncOf = (tenant: string) =>
  Effect.gen(function* () {
    const store = yield* AudienceStore.AudienceStore
    const revision = yield* store.revision(tenant)
    const status = yield* SqlSyncStore.status(tenant)
    if (Option.isNone(status)) {
      return { state: "pending" as const, revision: 0, targetRevision: revision, processed: 0, total: 0, error: null }
    }
    const s = status.value
    const state = s.sync === "backfilling" ? "backfilling" : s.revision < revision ? "pending" : "ready"
    return {
      state,
      revision: s.revision,
      targetRevision: Math.max(revision, s.targetRevision),
      processed: s.processed,
      total: s.total,
      error: s.error
    }
  })

const parseDays = Effect.gen(function* () {
  const params = yield* HttpServerRequest.ParsedSearchParams
  const raw = params.days
  const days = raw === undefined ? 30 : typeof raw === "string" && /^\d{1,3}$/.test(raw) ? Number(raw) : 0
  if (days < 1 || days > 540) {
    return yield* Problem.fail("invalid-parameter", "days: expected an integer from 1 to 540", { field: "days" })
  }
  return days
})

/** `GET /v1/audiences/:id/stats?days=N`: members now, targetability, the worker's progress, entries and exits per day. */
const stats = Effect.gen(function* () {
  const { tenant } = yield* admin
  const id = yield* idParam
  const days = yield* parseDays
  const store = yield* AudienceStore.AudienceStore
  const audience = yield* found(yield* store.get(tenant.id, id), id)
  const memberships = yield* MembershipStore.MembershipStore
  const now = yield* Clock.currentTimeMillis
  const members = yield* memberships.count(tenant.id, id, now)
  const sync = yield* syncOf(tenant.id)
  const since = new Date(now - (days - 1) * 86_400_000).toISOString().slice(0, 10)
  return json({
    id,
    status: audience.status,
    version: audience.version,
    at: new Date(now).toISOString(),
    members,
    targetable: audience.status === "active" && Size.isTargetable(members, k),
    k,
    sync,
    daily: yield* SqlSyncStore.daily(tenant.id, id, since)
  })
})

/** `GET /v1/audiences/:id/explain?visitor=KEY`: why a visitor is (or is not) a member, condition by condition. */
const explain = Effect.gen(function* () {
  const { tenant } = yield* admin
  const id = yield* idParam
  const params = yield* HttpServerRequest.ParsedSearchParams
  const visitor = params.visitor
  if (typeof visitor !== "string" || visitor.length === 0 || visitor.length > 256) {
    return yield* Problem.fail("invalid-parameter", "visitor: expected the visitor key", { field: "visitor" })
  }
  const store = yield* AudienceStore.AudienceStore
  yield* found(yield* store.get(tenant.id, id), id)
  const { program } = yield* SqlSyncStore.applied(tenant.id)
  const memberships = yield* MembershipStore.MembershipStore
  const stored = yield* memberships.loadState(tenant.id, visitor)
  const state = Option.isSome(stored) ? yield* VisitorState.fromBytes(stored.value) : VisitorState.make()
  const fingerprint = VisitorState.fingerprint(state)
  if (fingerprint !== 0 && fingerprint !== program.fingerprint) {
    return yield* Problem.fail("unavailable", "the worker is applying an audience edit; try again shortly")
  }
  const now = yield* Clock.currentTimeMillis
  const explanation = Explain.explain(program, id, state, now)
  if (Option.isNone(explanation)) {
    return yield* Problem.fail(
      "conflict",
      `audience ${id} is not evaluated yet (a draft, or not applied by the worker)`
    )
  }
  return json({ id, visitor, explanation: explanation.value, summary: Explain.describe(explanation.value) })
})

/** The audiences API (`AdminApi` group `audiences`); changes are audited. */
export const group = HttpApiBuilder.group(AdminApi.AdminApi, "audiences", (handlers) =>
  handlers
    .handleRaw("createAudience", () =>
      Problem.orStorageProblem(Audit.route("audience.create", () => "audiences", create))
    )
    .handleRaw("listAudiences", () => Problem.orStorageProblem(list))
    .handleRaw("previewRule", () => Problem.orStorageProblem(preview))
    .handleRaw("readAudience", () => Problem.orStorageProblem(read))
    .handleRaw("replaceAudience", () =>
      Problem.orStorageProblem(Audit.route("audience.update", (p) => `audience:${p.id}`, replace))
    )
    .handleRaw("deleteAudience", () =>
      Problem.orStorageProblem(Audit.route("audience.delete", (p) => `audience:${p.id}`, remove))
    )
    .handleRaw("previewAudience", () => Problem.orStorageProblem(previewStored))
    .handleRaw("audienceStats", () => Problem.orStorageProblem(stats))
    .handleRaw("explainMembership", () =>
      Problem.orStorageProblem(Audit.route("audience.explain", (p) => `audience:${p.id}`, explain))
    )
)
