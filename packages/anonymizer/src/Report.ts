/**
 * Aggregates safe to share with advertisers, publishers and partners: per-visitor contribution bounds,
 * k-anonymity suppression that cannot be undone by differencing published totals, and differentially private
 * releases charged to a privacy budget. The package README states precisely what each protects.
 *
 * - `aggregate` turns per-visitor rows into cells, bounding each visitor's contribution (at most
 *   `maxContribution` events in a cell, at most `maxCells` cells), which is what gives the noise its sensitivity.
 * - `kAnonymize` suppresses cells with fewer than `k` distinct visitors (default 50) or networks and, when totals
 *   over some dimensions (margins) are published with the cells, suppresses further cells until no published
 *   total minus the published cells it covers leaves a remainder of fewer than `k` visitors, and until no
 *   withheld cell is determined by any linear combination of the published cells and totals.
 * - `privatize` adds Laplace or Gaussian noise to counts and visitor counts, rounds, and withholds cells whose
 *   noisy visitor count is below `k`; `release` does the same after charging the (tenant, partner) budget.
 *
 * Plain synchronous functions over arrays, except `release`, which needs the `PrivacyBudget` service.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import * as Noise from "./Noise.js"
import { PrivacyBudget, type BudgetExhausted } from "./PrivacyBudget.js"
import { SecureRandom } from "./SecureRandom.js"

/**
 * The dimensions of a cell: name → value (`{ day: "2026-03-01", category: "shoes" }`).
 *
 * @since 0.1.0
 * @category models
 */
export const Dimensions = Schema.Record({ key: Schema.String, value: Schema.String })

/**
 * One cell of an aggregate: its dimensions, the events counted and the distinct visitors behind them.
 *
 * @since 0.1.0
 * @category models
 */
export const Cell = Schema.Struct({
  dimensions: Dimensions,
  count: Schema.NonNegativeInt,
  visitors: Schema.NonNegativeInt,
  /**
   * Distinct coarse networks (truncated addresses) the cell's known visitors came from, when the rows said;
   * `kAnonymize` withholds a cell that has it and is below `k`.
   */
  networks: Schema.optional(Schema.NonNegativeInt)
})

/**
 * @since 0.1.0
 * @category models
 */
export interface Cell extends Schema.Schema.Type<typeof Cell> {}

/**
 * One visitor's events in one combination of dimensions, before aggregation (pseudonymous visitor key).
 *
 * @since 0.1.0
 * @category models
 */
export const Contribution = Schema.Struct({
  visitor: Schema.String,
  dimensions: Dimensions,
  count: Schema.NonNegativeInt
})

/**
 * @since 0.1.0
 * @category models
 */
export interface Contribution extends Schema.Schema.Type<typeof Contribution> {}

/**
 * Per-visitor contribution bounds: at most `maxContribution` events counted per cell and at most `maxCells`
 * cells per visitor.
 *
 * @since 0.1.0
 * @category models
 */
export const Bounds = Schema.Struct({
  maxContribution: Schema.Int.pipe(Schema.positive()),
  maxCells: Schema.Int.pipe(Schema.positive())
})

/**
 * @since 0.1.0
 * @category models
 */
export interface Bounds extends Schema.Schema.Type<typeof Bounds> {}

/**
 * The default k: cells with fewer distinct visitors are never published.
 *
 * @since 0.1.0
 * @category constants
 */
export const DefaultK = 50

const projection = (dimensions: Readonly<Record<string, string>>, names: ReadonlyArray<string>): string =>
  JSON.stringify(names.map((name) => dimensions[name] ?? ""))

const pick = (dimensions: Readonly<Record<string, string>>, names: ReadonlyArray<string>): Record<string, string> => {
  const out: Record<string, string> = {}
  for (const name of names) out[name] = dimensions[name] ?? ""
  return out
}

/**
 * Aggregates per-visitor rows over `dimensions` (rows missing a dimension count under `""`). Each visitor's
 * events in a cell are summed and clamped to `bounds.maxContribution`; a visitor in more than `bounds.maxCells`
 * cells keeps only the `maxCells` cells with the most events (then by key). Without bounds nothing is clamped
 * (fine for k-anonymity, not for noise). Cells come out sorted by their dimension values.
 *
 * @since 0.1.0
 * @category aggregation
 */
export const aggregate = (
  contributions: Iterable<Contribution>,
  dimensions: ReadonlyArray<string>,
  bounds?: Bounds
): Array<Cell> => {
  const byVisitor = new Map<string, Map<string, number>>()
  const dims = new Map<string, Record<string, string>>()
  for (const row of contributions) {
    if (!(row.count > 0)) continue
    const key = projection(row.dimensions, dimensions)
    if (!dims.has(key)) dims.set(key, pick(row.dimensions, dimensions))
    let cells = byVisitor.get(row.visitor)
    if (cells === undefined) {
      cells = new Map()
      byVisitor.set(row.visitor, cells)
    }
    cells.set(key, (cells.get(key) ?? 0) + row.count)
  }
  const totals = new Map<string, { count: number; visitors: number }>()
  const maxContribution = bounds?.maxContribution ?? Number.POSITIVE_INFINITY
  const maxCells = bounds?.maxCells ?? Number.POSITIVE_INFINITY
  for (const cells of byVisitor.values()) {
    let entries = [...cells].map(([key, count]) => [key, Math.min(count, maxContribution)] as const)
    if (entries.length > maxCells) {
      entries = entries.sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, maxCells)
    }
    for (const [key, count] of entries) {
      const total = totals.get(key) ?? { count: 0, visitors: 0 }
      total.count += count
      total.visitors += 1
      totals.set(key, total)
    }
  }
  return [...totals]
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
    .map(([key, total]) => ({ dimensions: dims.get(key)!, count: total.count, visitors: total.visitors }))
}

/**
 * Per-visitor counts as a store reads them: one visitor's events in one combination of dimensions, or events
 * stored without a visitor key (`visitor: null`, identifier-free), which add to a cell's `count` but to none of
 * its `visitors`.
 *
 * @since 0.2.0
 * @category models
 */
export interface Row {
  readonly visitor: string | null
  readonly dimensions: Readonly<Record<string, string>>
  readonly count: number
  /**
   * The coarse network the events came from (the stored truncated address: IPv4 /24, IPv6 /48), `null` when
   * unknown (never adds to a cell's spread). Leave it out only where no row can be minted by an outsider.
   */
  readonly network?: string | null | undefined
}

/** Truncated addresses that name no network. */
const unknownNetworks: ReadonlySet<string> = new Set(["", "unknown"])

/**
 * Exact cells over `dimensions`: events counted and distinct known visitors, nothing clamped (what `kAnonymize`
 * takes). A cell made only of identifier-free events has 0 visitors, so one person's many identifier-free events
 * never pass for a crowd. When any row carries a `network` (even `null`), every cell also gets `networks`: the
 * distinct known networks of its known visitors' rows, so visitors minted from one network count as one. Cells
 * come out sorted by their dimension values.
 *
 * @since 0.2.0
 * @category aggregation
 */
export const tabulate = (rows: Iterable<Row>, dimensions: ReadonlyArray<string>): Array<Cell> => {
  const cells = new Map<
    string,
    { dimensions: Record<string, string>; count: number; visitors: Set<string>; networks: Set<string> }
  >()
  let measured = false
  for (const row of rows) {
    const key = projection(row.dimensions, dimensions)
    let cell = cells.get(key)
    if (cell === undefined) {
      cell = { dimensions: pick(row.dimensions, dimensions), count: 0, visitors: new Set(), networks: new Set() }
      cells.set(key, cell)
    }
    cell.count += row.count
    if (row.network !== undefined) measured = true
    if (row.visitor !== null) {
      cell.visitors.add(row.visitor)
      if (typeof row.network === "string" && !unknownNetworks.has(row.network)) cell.networks.add(row.network)
    }
  }
  return [...cells]
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
    .map(([, cell]) =>
      measured
        ? { dimensions: cell.dimensions, count: cell.count, visitors: cell.visitors.size, networks: cell.networks.size }
        : { dimensions: cell.dimensions, count: cell.count, visitors: cell.visitors.size }
    )
}

/**
 * The coarser breakdowns of `dimensions`: every proper subset (the grand total `[]`, each single dimension, …),
 * fewest dimensions first. Tabulated and passed to `kAnonymize` as margins, they are the totals a report can
 * publish with its cells; and a report by any of them publishes exactly the totals the finer report protected its
 * cells against.
 *
 * @since 0.2.0
 * @category k-anonymity
 */
export const marginsOf = <D extends string>(dimensions: ReadonlyArray<D>): Array<Array<D>> => {
  const out: Array<Array<D>> = []
  for (let mask = 0; mask < (1 << dimensions.length) - 1; mask++) {
    out.push(dimensions.filter((_, i) => (mask & (1 << i)) !== 0))
  }
  return out.sort((a, b) => a.length - b.length)
}

/**
 * Completes cells to a public domain: every combination of the given dimension values, with zero cells where
 * the data has none; cells outside the domain are dropped. Noise must be added over a public domain, or which
 * cells exist would itself reveal who is in the data.
 *
 * @since 0.1.0
 * @category aggregation
 */
export const withDomain = (
  cells: ReadonlyArray<Cell>,
  domain: ReadonlyArray<readonly [name: string, values: ReadonlyArray<string>]>
): Array<Cell> => {
  const names = domain.map(([name]) => name)
  const present = new Map<string, Cell>()
  for (const cell of cells) present.set(projection(cell.dimensions, names), cell)
  let combinations: Array<Record<string, string>> = [{}]
  for (const [name, values] of domain) {
    const next: Array<Record<string, string>> = []
    for (const partial of combinations) for (const value of values) next.push({ ...partial, [name]: value })
    combinations = next
  }
  return combinations.map(
    (dimensions) => present.get(projection(dimensions, names)) ?? { dimensions, count: 0, visitors: 0 }
  )
}

/**
 * Totals of the same data over a subset of the cells' dimensions (`by: ["day"]`, or `by: []` for the grand
 * total), computed exactly (distinct visitors counted over the whole group, not summed).
 *
 * @since 0.1.0
 * @category models
 */
export interface Margin {
  readonly by: ReadonlyArray<string>
  readonly cells: ReadonlyArray<Cell>
}

/**
 * What may be published: cells and margin totals with at least `k` visitors each, and how many were withheld.
 *
 * @since 0.1.0
 * @category models
 */
export interface KAnonymized {
  readonly k: number
  readonly cells: ReadonlyArray<Cell>
  readonly margins: ReadonlyArray<Margin>
  /** Cells withheld because they have fewer than k visitors (or, when counted, networks). */
  readonly suppressed: number
  /** Cells and totals withheld besides, so that no remainder under k can be computed from what is published. */
  readonly complementary: number
}

interface Node {
  readonly cell: Cell
  published: boolean
}

interface Level {
  readonly by: ReadonlyArray<string>
  readonly nodes: ReadonlyArray<Node>
}

const isSubset = (a: ReadonlyArray<string>, b: ReadonlySet<string>): boolean => a.every((name) => b.has(name))

/** Suppresses finer published cells of each published coarse total until its remainder is empty or ≥ k. */
const protect = (coarse: Level, finer: Level, k: number): boolean => {
  let changed = false
  const groups = new Map<string, Array<Node>>()
  for (const node of finer.nodes) {
    const key = projection(node.cell.dimensions, coarse.by)
    const group = groups.get(key)
    if (group === undefined) groups.set(key, [node])
    else group.push(node)
  }
  for (const total of coarse.nodes) {
    if (!total.published) continue
    const members = groups.get(projection(total.cell.dimensions, coarse.by)) ?? []
    let count = total.cell.count
    let visitors = total.cell.visitors
    for (const member of members) {
      if (!member.published) continue
      count -= member.cell.count
      visitors -= member.cell.visitors
    }
    // `visitors` is a lower bound of the distinct visitors in the withheld cells: what differencing reveals.
    if (count <= 0 || visitors >= k) continue
    const candidates = members
      .filter((member) => member.published)
      .sort((a, b) => a.cell.visitors - b.cell.visitors || a.cell.count - b.cell.count)
    for (const candidate of candidates) {
      candidate.published = false
      changed = true
      visitors += candidate.cell.visitors
      if (visitors >= k) break
    }
    if (visitors < k) {
      // Only when the totals do not match the cells (inconsistent inputs): withhold the total too.
      total.published = false
      changed = true
    }
  }
  return changed
}

/**
 * Work budget of the exact check in `secure`: integer operations over all its rounds (about a second), and a bound
 * on the worst case of one round. A report too large for it gives up its finest margins first (withheld whole),
 * rather than publish totals that were never checked.
 */
const eliminationBudget = 30_000_000
const roundBound = 300_000_000

const gcd = (a: bigint, b: bigint): bigint => {
  let x = a < 0n ? -a : a
  let y = b < 0n ? -b : b
  while (y !== 0n) [x, y] = [y, x % y]
  return x
}

/** Divides a relation by the gcd of its entries, which keeps the integers of the elimination small. */
const normalise = (v: Array<bigint>): void => {
  let g = 0n
  for (const x of v) if (x !== 0n) g = gcd(g, x)
  if (g > 1n) for (let j = 0; j < v.length; j++) v[j] = v[j]! / g
}

interface Total {
  readonly node: Node
  /** Indices of the fine cells the total sums. */
  readonly members: ReadonlyArray<number>
}

/**
 * Complementary suppression against every linear attack: withholds published cells and totals until no withheld
 * cell, and no withheld total that covers a withheld cell, is determined by the published figures.
 *
 * Every figure is a sum of fine cells, so a withheld figure with indicator vector `t` is determined exactly when
 * `t` lies in the row space of the published figures' vectors. Published cells are known, so the system is
 * restricted to the withheld cells, with one equation per published total; exact integer elimination (with
 * provenance) decides each target and names the published figures its solution uses, the smallest of which is
 * then withheld. Each round withholds at least one figure, so the loop ends (at worst with nothing published).
 */
const secure = (fine: Level, margins: ReadonlyArray<Level>, fineNames: ReadonlySet<string>): void => {
  const totals: Array<Total> = []
  // Finest first: the order in which margins are given up when the work budget runs out.
  const levels = margins.filter((level) => isSubset(level.by, fineNames))
  levels.sort((a, b) => b.by.length - a.by.length || b.nodes.length - a.nodes.length)
  for (const level of levels) {
    const groups = new Map<string, Array<number>>()
    fine.nodes.forEach((node, i) => {
      const key = projection(node.cell.dimensions, level.by)
      const group = groups.get(key)
      if (group === undefined) groups.set(key, [i])
      else group.push(i)
    })
    for (const node of level.nodes) {
      totals.push({ node, members: groups.get(projection(node.cell.dimensions, level.by)) ?? [] })
    }
  }
  const smaller = (a: Node, b: Node): boolean =>
    a.cell.visitors < b.cell.visitors || (a.cell.visitors === b.cell.visitors && a.cell.count < b.cell.count)
  let spent = 0
  let given = 0
  for (;;) {
    const column = new Map<number, number>()
    fine.nodes.forEach((node, i) => {
      if (!node.published) column.set(i, column.size)
    })
    const covers = (total: Total) => total.members.some((i) => column.has(i))
    const rows = totals.filter((total) => total.node.published && covers(total))
    if (column.size === 0 || rows.length === 0) return
    const targets: Array<{ readonly members: ReadonlyArray<number> }> = [
      ...[...column.keys()].map((i) => ({ members: [i] })),
      ...totals.filter((total) => !total.node.published && covers(total))
    ]
    const width = column.size + rows.length + 1
    if (
      spent > eliminationBudget ||
      (rows.length + targets.length) * Math.min(column.size, rows.length) * width > roundBound
    ) {
      for (const node of levels[given]!.nodes) node.published = false
      given++
      continue
    }
    // A relation: coefficients over the withheld cells, then over the published totals (provenance), then the
    // target's own coefficient. Invariant: cells part = target coefficient × target + Σ provenance × totals.
    const relation = (members: ReadonlyArray<number>, row: number): Array<bigint> => {
      const v = new Array<bigint>(width).fill(0n)
      for (const i of members) {
        const c = column.get(i)
        if (c !== undefined) v[c] = v[c]! + 1n
      }
      v[row < 0 ? width - 1 : column.size + row] = 1n
      return v
    }
    const basis: Array<{ readonly pivot: number; readonly row: Array<bigint> }> = []
    const reduce = (v: Array<bigint>): void => {
      for (const { pivot, row } of basis) {
        const a = v[pivot]!
        if (a === 0n) continue
        const p = row[pivot]!
        for (let j = 0; j < width; j++) v[j] = p * v[j]! - a * row[j]!
        normalise(v)
        spent += width
      }
    }
    rows.forEach((total, r) => {
      const v = relation(total.members, r)
      reduce(v)
      let pivot = -1
      for (let c = 0; c < column.size; c++) {
        if (v[c] !== 0n) {
          pivot = c
          break
        }
      }
      if (pivot >= 0) basis.push({ pivot, row: v })
    })
    const touched = new Set<Node>()
    let determined = false
    for (const target of targets) {
      const v = relation(target.members, -1)
      reduce(v)
      let solved = true
      for (let c = 0; c < column.size; c++) {
        if (v[c] !== 0n) {
          solved = false
          break
        }
      }
      if (!solved) continue
      determined = true
      // The published figures the solution uses: totals with a non-zero coefficient, and published cells whose
      // coefficient (target's own plus each total's) does not cancel out.
      const used: Array<Node> = []
      const cellCoefficient = new Map<number, bigint>()
      const s = v[width - 1]!
      for (const i of target.members) if (!column.has(i)) cellCoefficient.set(i, (cellCoefficient.get(i) ?? 0n) + s)
      rows.forEach((total, r) => {
        const b = v[column.size + r]!
        if (b === 0n) return
        used.push(total.node)
        for (const i of total.members) {
          if (!column.has(i)) cellCoefficient.set(i, (cellCoefficient.get(i) ?? 0n) + b)
        }
      })
      for (const [i, coefficient] of cellCoefficient) if (coefficient !== 0n) used.push(fine.nodes[i]!)
      // A figure withheld earlier in this round may already have made the target undetermined: check it again.
      if (used.some((node) => touched.has(node))) continue
      let best: Node | undefined
      for (const node of used) if (node.published && (best === undefined || smaller(node, best))) best = node
      if (best === undefined) continue
      best.published = false
      touched.add(best)
    }
    if (!determined || touched.size === 0) return
  }
}

const normaliseK = (k: number | undefined): number =>
  k === undefined || !Number.isFinite(k) ? DefaultK : Math.max(1, Math.floor(k))

/**
 * The first suppression: at least `k` distinct visitors and, when the cell counts its networks, at least `k`
 * distinct networks (visitor ids are free to mint from one network; networks are not).
 */
const enough = (cell: Cell, k: number): boolean =>
  cell.visitors >= k && (cell.networks === undefined || cell.networks >= k)

/**
 * k-anonymity for a table of cells and, optionally, totals over some of its dimensions published alongside.
 *
 * Every cell and total with fewer than `k` distinct visitors, or (when it counts them, see `tabulate`) spread over
 * fewer than `k` distinct networks, is withheld. Then, for every published total and every finer level it covers
 * (the cells, or a margin over more dimensions), the total minus the published finer entries it covers (the
 * remainder an attacker can compute by differencing) must be empty or have at least `k` visitors; if not, the
 * smallest published entries of that group are withheld too (complementary suppression), repeatedly until every
 * group holds. Remainders are judged by a lower bound of their distinct
 * visitors (total visitors minus published visitors), so overlapping visitors never make a remainder look
 * safer than it is. Finally, since crossed or nested margins let chains of subtractions solve for a withheld cell
 * (the withheld cells form a tree), every published figure is taken as a linear equation over the cells and more
 * is withheld until no withheld cell, and no withheld total over a withheld cell, is determined by them (exact
 * integer elimination; a report too large for its work budget gives up its finest margins first).
 *
 * Publish coarser views only through `margins` of the same call: totals computed and published separately
 * (a second query by day only) are not protected. Without margins, publish no totals other than sums of the
 * published cells.
 *
 * @since 0.1.0
 * @category k-anonymity
 */
export const kAnonymize = (
  cells: ReadonlyArray<Cell>,
  options: { readonly k?: number; readonly margins?: ReadonlyArray<Margin> } = {}
): KAnonymized => {
  const k = normaliseK(options.k)
  const fineNames = new Set<string>()
  for (const cell of cells) for (const name of Object.keys(cell.dimensions)) fineNames.add(name)
  const fine: Level = {
    by: [...fineNames],
    nodes: cells.map((cell) => ({ cell, published: enough(cell, k) }))
  }
  const margins: Array<Level> = (options.margins ?? []).map((margin) => ({
    by: margin.by,
    nodes: margin.cells.map((cell) => ({ cell, published: enough(cell, k) }))
  }))
  const pairs: Array<readonly [Level, Level]> = []
  for (const coarse of margins) {
    if (isSubset(coarse.by, fineNames)) pairs.push([coarse, fine])
    for (const finer of margins) {
      if (finer !== coarse && finer.by.length > coarse.by.length && isSubset(coarse.by, new Set(finer.by))) {
        pairs.push([coarse, finer])
      }
    }
  }
  const primary =
    fine.nodes.filter((n) => !n.published).length +
    margins.reduce((n, level) => n + level.nodes.filter((node) => !node.published).length, 0)
  let changed = true
  while (changed) {
    changed = false
    for (const [coarse, finer] of pairs) if (protect(coarse, finer, k)) changed = true
  }
  // Withholding more never undoes what `protect` ensured (remainders only grow), so it can run last.
  if (margins.length > 0) secure(fine, margins, fineNames)
  const withheld =
    fine.nodes.filter((n) => !n.published).length +
    margins.reduce((n, level) => n + level.nodes.filter((node) => !node.published).length, 0)
  return {
    k,
    cells: fine.nodes.filter((n) => n.published).map((n) => n.cell),
    margins: margins.map((level) => ({
      by: level.by,
      cells: level.nodes.filter((n) => n.published).map((n) => n.cell)
    })),
    suppressed: fine.nodes.filter((n) => !enough(n.cell, k)).length,
    complementary: withheld - primary
  }
}

/**
 * Options of a differentially private release: the mechanism with its ε (and δ), the contribution bounds the
 * cells were aggregated with, and the threshold `k` applied to noisy visitor counts (default 50).
 *
 * @since 0.1.0
 * @category models
 */
export interface PrivateOptions {
  readonly mechanism: Noise.Mechanism
  readonly bounds: Bounds
  readonly k?: number
}

/**
 * The sensitivities of one half of a release: counts (each visitor moves at most `maxCells` cells by at most
 * `maxContribution`) and visitor counts (at most `maxCells` cells by one).
 *
 * @since 0.1.0
 * @category differential privacy
 */
export const sensitivities = (
  bounds: Bounds
): {
  readonly count: { readonly l1: number; readonly l2: number }
  readonly visitors: { readonly l1: number; readonly l2: number }
} => ({
  count: { l1: bounds.maxContribution * bounds.maxCells, l2: bounds.maxContribution * Math.sqrt(bounds.maxCells) },
  visitors: { l1: bounds.maxCells, l2: Math.sqrt(bounds.maxCells) }
})

const positiveInteger = (parameter: string, value: number) =>
  Number.isInteger(value) && value >= 1
    ? Either.right(value)
    : Either.left(new Noise.InvalidPrivacyParameter({ parameter, value, detail: "must be a positive integer" }))

/**
 * Checks a release's options: the mechanism's parameters (`Noise.validate`) and positive integer bounds.
 *
 * @since 0.1.0
 * @category differential privacy
 */
export const validateOptions = (
  options: PrivateOptions
): Either.Either<PrivateOptions, Noise.InvalidPrivacyParameter> =>
  Either.all([
    Noise.validate(options.mechanism),
    positiveInteger("maxContribution", options.bounds.maxContribution),
    positiveInteger("maxCells", options.bounds.maxCells)
  ]).pipe(Either.map(() => options))

const half = (mechanism: Noise.Mechanism): Noise.Mechanism =>
  mechanism._tag === "Laplace"
    ? { _tag: "Laplace", epsilon: mechanism.epsilon / 2 }
    : { _tag: "Gaussian", epsilon: mechanism.epsilon / 2, delta: mechanism.delta / 2 }

/**
 * Adds noise to every cell (aggregated with `options.bounds`, over a public domain: see `withDomain`), half the
 * budget for counts and half for visitor counts; rounds to integers and clamps at zero (post-processing, which
 * also closes the floating-point side channel of continuous samplers); withholds cells whose noisy visitor
 * count is below `k`. The whole table is (ε, δ)-differentially private with respect to adding or removing one
 * visitor.
 *
 * @since 0.1.0
 * @category differential privacy
 */
export const privatize = (
  cells: ReadonlyArray<Cell>,
  options: PrivateOptions,
  uniform: Noise.Uniform
): Either.Either<Array<Cell>, Noise.InvalidPrivacyParameter> =>
  Either.map(validateOptions(options), (valid) => {
    const k = normaliseK(valid.k)
    const s = sensitivities(valid.bounds)
    const each = half(valid.mechanism)
    const countNoise = Noise.sampler(each, s.count, uniform)
    const visitorNoise = Noise.sampler(each, s.visitors, uniform)
    const out: Array<Cell> = []
    for (const cell of cells) {
      const count = Math.max(0, Math.round(cell.count + countNoise()))
      const visitors = Math.max(0, Math.round(cell.visitors + visitorNoise()))
      if (visitors >= k) out.push({ dimensions: cell.dimensions, count, visitors })
    }
    return out
  })

/**
 * A differentially private release to a partner: charges the mechanism's (ε, δ) to the (tenant, partner)
 * budget first (refusing with `BudgetExhausted` when it would be exceeded), then `privatize`s the cells with
 * noise from `SecureRandom`.
 *
 * @since 0.1.0
 * @category differential privacy
 */
export const release = (request: {
  readonly tenant: string
  readonly partner: string
  readonly cells: ReadonlyArray<Cell>
  readonly options: PrivateOptions
}): Effect.Effect<Array<Cell>, BudgetExhausted | Noise.InvalidPrivacyParameter, PrivacyBudget> =>
  Effect.gen(function* () {
    // Everything is checked before anything is spent.
    const options = yield* validateOptions(request.options)
    const budget = yield* PrivacyBudget
    yield* budget.charge(request.tenant, request.partner, Noise.costOf(options.mechanism))
    const random = yield* SecureRandom
    return yield* privatize(request.cells, options, random.uniform)
  })
