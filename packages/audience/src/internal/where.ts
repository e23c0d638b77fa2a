/**
 * Property filters compiled to predicates over one unit of an event (the event itself, or one line item of a
 * conversion): each test reads its field defensively and a missing field fails the test.
 */
import type * as AudienceRule from "../AudienceRule.js"
import { type FieldInfo, type FieldName, fields, readString, readWhole } from "./fields.js"
import { compileGlob } from "./urlGlob.js"

type Obj = Record<string, unknown>

/** One compiled test. */
export interface Test {
  readonly field: FieldInfo
  readonly item: boolean
  readonly pass: (payload: Obj, item: Obj | undefined) => boolean
}

const textTest = (
  field: FieldInfo,
  test: { equals?: string; in?: ReadonlyArray<string>; prefix?: string; glob?: string }
): ((s: string) => boolean) => {
  const checks: Array<(s: string) => boolean> = []
  if (test.equals !== undefined) {
    const v = test.equals
    checks.push((s) => s === v)
  }
  if (test.in !== undefined) {
    const set = new Set(test.in)
    checks.push((s) => set.has(s))
  }
  if (test.prefix !== undefined) {
    const p = test.prefix
    checks.push((s) => s.startsWith(p))
  }
  if (test.glob !== undefined && field.kind === "url") checks.push(compileGlob(test.glob))
  return checks.length === 1 ? checks[0]! : (s) => checks.every((c) => c(s))
}

const numberTest = (test: {
  equals?: number
  in?: ReadonlyArray<number>
  gt?: number
  gte?: number
  lt?: number
  lte?: number
}): ((n: number) => boolean) => {
  const checks: Array<(n: number) => boolean> = []
  const { equals, gt, gte, lt, lte } = test
  if (equals !== undefined) checks.push((n) => n === equals)
  if (test.in !== undefined) {
    const set = new Set(test.in)
    checks.push((n) => set.has(n))
  }
  if (gt !== undefined) checks.push((n) => n > gt)
  if (gte !== undefined) checks.push((n) => n >= gte)
  if (lt !== undefined) checks.push((n) => n < lt)
  if (lte !== undefined) checks.push((n) => n <= lte)
  return checks.length === 1 ? checks[0]! : (n) => checks.every((c) => c(n))
}

/** The tests of a `where` object, in field order. */
export const compileWhere = (where: AudienceRule.Where | undefined): ReadonlyArray<Test> => {
  if (where === undefined) return []
  const tests: Array<Test> = []
  for (const name of Object.keys(where) as Array<FieldName>) {
    const spec = (where as Record<string, unknown>)[name]
    if (spec === undefined) continue
    const field = fields[name]
    if (field.kind === "number") {
      const check = typeof spec === "number" ? (n: number) => n === spec : numberTest(spec as never)
      tests.push({
        field,
        item: field.item,
        pass: (payload, item) => {
          const n = readWhole(field, payload, item)
          return n !== undefined && check(n)
        }
      })
    } else {
      const check =
        typeof spec === "string"
          ? field.kind === "url"
            ? compileGlob(spec)
            : (s: string) => s === spec
          : textTest(field, spec as never)
      tests.push({
        field,
        item: field.item,
        pass: (payload, item) => {
          const s = readString(field, payload, item)
          return s !== undefined && check(s)
        }
      })
    }
  }
  return tests
}

/** A canonical text for a `where` object, so equal filters compile once. */
export const whereKey = (where: AudienceRule.Where | undefined): string => {
  if (where === undefined) return "{}"
  const sorted = (u: unknown): unknown => {
    if (Array.isArray(u)) return u.map(sorted)
    if (typeof u === "object" && u !== null) {
      return Object.fromEntries(
        Object.keys(u)
          .filter((k) => (u as Obj)[k] !== undefined)
          .sort()
          .map((k) => [k, sorted((u as Obj)[k])])
      )
    }
    return u
  }
  return JSON.stringify(sorted(where))
}
