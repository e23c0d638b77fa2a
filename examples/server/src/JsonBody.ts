/**
 * JSON request bodies of the admin routes: `application/json`, within a size limit enforced while reading, a JSON
 * object, and only the fields a route knows. Every refusal is a problem naming what is wrong.
 */
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as BodyLimit from "./BodyLimit.js"
import * as Problem from "./Problem.js"

/** The JSON object in the request body (at most `maxBytes`), or a problem. */
export const object = (maxBytes: number) =>
  Effect.gen(function* () {
    const request = yield* HttpServerRequest.HttpServerRequest
    const type = request.headers["content-type"] ?? ""
    if (!/^application\/(?:[\w.+-]+\+)?json\b/i.test(type)) {
      return yield* Problem.fail("unsupported-media-type", "send the body as application/json")
    }
    const text = yield* BodyLimit.text(maxBytes)
    let parsed: unknown
    try {
      parsed = JSON.parse(text)
    } catch {
      return yield* Problem.fail("invalid-body", "the body is not valid JSON")
    }
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
      return yield* Problem.fail("invalid-body", "expected a JSON object")
    }
    const unconvertible = unconvertibleAt(parsed)
    if (unconvertible !== undefined) {
      return yield* Problem.fail("invalid-body", `${unconvertible}: no field may be named toString or valueOf`, {
        field: unconvertible
      })
    }
    return parsed as Record<string, unknown>
  })

/** Keys that change how a value converts to text: no body field has these names. */
const conversionKeys = ["toString", "valueOf"]

/**
 * The path of the first object in `value` with an own `toString` or `valueOf` key (`""` for the root), if any. Such an
 * object (`{"toString": false}` is valid JSON) cannot be converted to text, and Effect's schema decoding converts
 * the value of a union's tag field to text to pick the member: without this check it throws instead of failing,
 * and the route answered 500. Walked without recursion (JSON nests as deep as its size allows).
 */
export const unconvertibleAt = (value: unknown): string | undefined => {
  const stack: Array<readonly [unknown, string]> = [[value, ""]]
  while (stack.length > 0) {
    const [current, path] = stack.pop()!
    if (typeof current !== "object" || current === null) continue
    if (Array.isArray(current)) {
      for (let i = current.length - 1; i >= 0; i--) stack.push([current[i], `${path}[${i}]`])
      continue
    }
    const key = conversionKeys.find((name) => Object.hasOwn(current, name))
    if (key !== undefined) return path === "" ? key : `${path}.${key}`
    for (const [name, inner] of Object.entries(current)) stack.push([inner, path === "" ? name : `${path}.${name}`])
  }
  return undefined
}

/** Refuses a body with a field outside `fields`, naming it. */
export const allowed = (input: Record<string, unknown>, fields: ReadonlyArray<string>) => {
  const unknown = Object.keys(input).find((key) => !fields.includes(key))
  return unknown === undefined
    ? Effect.void
    : Problem.fail("invalid-body", `${unknown}: unknown field (expected ${fields.join(", ")})`, { field: unknown })
}

/**
 * The JSON body (at most `maxBytes`) decoded by `schema`: fields the schema does not know are refused, and every
 * failure is a 400 problem naming the field path (`origins[0]: …`) with all fields at fault in `errors`.
 */
export const decode = <A, I>(schema: Schema.Schema<A, I, never>, maxBytes: number) =>
  Effect.flatMap(object(maxBytes), (input) =>
    Schema.decodeUnknown(schema, { errors: "all", onExcessProperty: "error" })(input).pipe(
      Effect.mapError((error) => new Problem.ProblemError(Problem.fromParseError("invalid-body", error)))
    )
  )
