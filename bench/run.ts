/**
 * `pnpm bench`: runs every benchmark in one process, one after the other (tag size, decoder, consent, user agents,
 * audiences, ads, collector),
 * prints a table, and writes `bench/results.json` (a flat `{ "name": number }` object) and `bench/results.md`.
 * The figures that matter are the ratios against baselines measured in the same run; absolute numbers depend
 * on the machine and are for reading, never for gating CI.
 *
 * Arguments select benchmarks (`pnpm bench decoder tag`); when all ran the results files are written afresh, when a
 * subset ran (and none failed) its figures are merged into them (same names replaced, new names appended).
 * Environment: BENCH_ROUNDS (collector rounds, default 3), BENCH_DURATION (measured seconds per collector run,
 * default 10), BENCH_WARMUP (warm-up seconds, default 2), BENCH_CONNECTIONS (default 50); the ads benchmark's
 * requests run BENCH_ADS_ROUNDS (default 5) rounds of BENCH_ADS_DURATION (default 6) seconds after the same warm-up,
 * at BENCH_ADS_CONNECTIONS (default 10). The DSAR benchmark fills
 * `events` with OA_BENCH_DSAR_ROWS rows (default 10,000,000) on OA_BENCH_DATABASE_URL (default the test database).
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs"
import { cpus } from "node:os"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import * as Ads from "./ads.ts"
import * as Audience from "./audience.ts"
import * as Collector from "./collector.ts"
import * as Consent from "./consent.ts"
import * as Decoder from "./decoder.ts"
import * as Dsar from "./dsar.ts"
import { type Figure, log } from "./stats.ts"
import * as Tag from "./tag.ts"
import * as Ua from "./ua.ts"

const root = join(dirname(fileURLToPath(import.meta.url)), "..")

const envNumber = (name: string, fallback: number): number => {
  const raw = process.env[name]
  if (raw === undefined || raw === "") return fallback
  const value = Number(raw)
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number, got "${raw}"`)
  return value
}

const collectorOptions: Collector.CollectorOptions = {
  rounds: envNumber("BENCH_ROUNDS", 3),
  durationS: envNumber("BENCH_DURATION", 10),
  warmupS: envNumber("BENCH_WARMUP", 2),
  connections: envNumber("BENCH_CONNECTIONS", 50)
}

// More and shorter rounds than the collector's: the ratio is the median of per-round ratios, and on a shared 2-core
// machine whose speed moves by half from one minute to the next, five paired rounds of 6 s give a steadier median
// than three of 10 s in about the same time.
const adsOptions: Ads.AdsOptions = {
  rounds: envNumber("BENCH_ADS_ROUNDS", 5),
  durationS: envNumber("BENCH_ADS_DURATION", 6),
  warmupS: collectorOptions.warmupS,
  connections: envNumber("BENCH_ADS_CONNECTIONS", 10),
  decision: { decisions: 20_000, warmup: 5_000 }
}

const benchmarks: ReadonlyArray<{
  readonly name: string
  readonly run: () => ReadonlyArray<Figure> | Promise<ReadonlyArray<Figure>>
}> = [
  { name: "tag", run: () => Tag.run(root) },
  { name: "decoder", run: () => Decoder.run({ rounds: 5, roundMs: 1_000, warmupMs: 1_500 }) },
  { name: "consent", run: () => Consent.run({ rounds: 5, roundMs: 1_000, warmupMs: 1_000 }) },
  { name: "ua", run: () => Ua.run(root, { rounds: 5, roundMs: 1_000, warmupMs: 1_000 }) },
  { name: "audience", run: () => Audience.run({ rounds: 5, roundMs: 1_000, warmupMs: 1_000 }) },
  { name: "ads", run: () => Ads.run(root, adsOptions) },
  { name: "collector", run: () => Collector.run(root, collectorOptions, Collector.embedded) },
  { name: "collector-postgres", run: () => Collector.run(root, collectorOptions, Collector.onPostgres) },
  { name: "collector-audiences", run: () => Collector.run(root, collectorOptions, Collector.withAudiences) },
  {
    name: "dsar",
    run: () => Dsar.run({ rows: envNumber("OA_BENCH_DSAR_ROWS", 10_000_000), erasures: 20, exports: 10 })
  }
]

const formatValue = (value: number): string =>
  value.toLocaleString("en-US", Number.isInteger(value) ? {} : { maximumSignificantDigits: 4 })

const table = (figures: ReadonlyArray<Figure>): Array<string> => {
  const rows = figures.map((f) => [f.name, formatValue(f.value), f.unit, f.note])
  const header = ["figure", "value", "unit", "what"]
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)))
  const line = (cells: ReadonlyArray<string>) =>
    cells
      .map((cell, i) => (i === 1 ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!)))
      .join("  ")
      .trimEnd()
  return [line(header), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map(line)]
}

/** A Markdown table laid out the way biome formats one (padded cells, right-aligned numbers). */
const markdownTable = (header: ReadonlyArray<string>, rows: ReadonlyArray<ReadonlyArray<string>>, right: number) => {
  const widths = header.map((h, i) => Math.max(3, h.length, ...rows.map((r) => r[i]!.length)))
  const line = (cells: ReadonlyArray<string>) =>
    `| ${cells.map((cell, i) => (i === right ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!))).join(" | ")} |`
  const rule = widths.map((w, i) => (i === right ? `${"-".repeat(w - 1)}:` : "-".repeat(w)))
  return [line(header), `| ${rule.join(" | ")} |`, ...rows.map(line)]
}

const markdown = (figures: ReadonlyArray<Figure>, seconds: number): string => {
  const cpu = cpus()
  return [
    "# Benchmark results",
    "",
    `Written by \`pnpm bench\` on ${new Date().toISOString()}: Node ${process.version}, ${cpu.length} x ` +
      `${cpu[0]?.model.trim() ?? "unknown CPU"}; collector ${collectorOptions.rounds} rounds of ` +
      `${collectorOptions.warmupS} s warm-up + ${collectorOptions.durationS} s at ${collectorOptions.connections} ` +
      `connections; ${seconds.toFixed(0)} s in all. See [README.md](./README.md) for how to read the figures.`,
    "",
    ...markdownTable(
      ["figure", "value", "unit", "what"],
      figures.map((f) => [`\`${f.name}\``, formatValue(f.value), f.unit, f.note]),
      1
    ),
    ""
  ].join("\n")
}

/** A row of a results.md table: the figure's name (without backticks) and its cells. */
const markdownRow = /^\| `([^`]+)` +\| +([^|]*?) +\| +([^|]*?) +\| +(.*?) +\|$/

/**
 * Merges the figures of a subset into the results files: a figure already there is replaced in place, a new one
 * appended; the other figures and results.md's header stay, with a line saying which benchmarks were re-run when.
 */
const mergeResults = (figures: ReadonlyArray<Figure>, selected: ReadonlyArray<string>, seconds: number): void => {
  const jsonPath = join(root, "bench/results.json")
  const mdPath = join(root, "bench/results.md")
  const results: Record<string, number> = existsSync(jsonPath) ? JSON.parse(readFileSync(jsonPath, "utf8")) : {}
  for (const f of figures) results[f.name] = f.value
  writeFileSync(jsonPath, `${JSON.stringify(results, null, 2)}\n`)
  const lines = existsSync(mdPath) ? readFileSync(mdPath, "utf8").split("\n") : []
  const rows = new Map<string, Array<string>>()
  const header: Array<string> = []
  for (const line of lines) {
    const match = markdownRow.exec(line)
    if (match !== null) rows.set(match[1]!, [`\`${match[1]}\``, match[2]!, match[3]!, match[4]!])
    else if (rows.size === 0 && !line.startsWith("|")) header.push(line)
  }
  for (const f of figures) rows.set(f.name, [`\`${f.name}\``, formatValue(f.value), f.unit, f.note])
  const note =
    `Figures of ${selected.map((name) => `\`${name}\``).join(", ")} updated by \`tsx bench/run.ts ${selected.join(" ")}\` ` +
    `on ${new Date().toISOString()} (${seconds.toFixed(0)} s).`
  const kept = header
    .filter((line) => !line.startsWith(`Figures of ${selected.map((name) => `\`${name}\``).join(", ")} updated`))
    // One blank line between paragraphs, as the formatter wants, also where a replaced line was.
    .filter((line, i, lines) => line !== "" || i === 0 || lines[i - 1] !== "")
  while (kept.length > 0 && kept.at(-1) === "") kept.pop()
  writeFileSync(
    mdPath,
    [
      ...(kept.length > 0 ? kept : ["# Benchmark results"]),
      "",
      note,
      "",
      ...markdownTable(["figure", "value", "unit", "what"], [...rows.values()], 1),
      ""
    ].join("\n")
  )
}

const main = async (): Promise<number> => {
  const selected = process.argv.slice(2)
  const unknown = selected.filter((name) => !benchmarks.some((b) => b.name === name))
  if (unknown.length > 0) {
    console.error(
      `unknown benchmark(s): ${unknown.join(", ")}; choose from ${benchmarks.map((b) => b.name).join(", ")}`
    )
    return 2
  }
  const started = performance.now()
  const figures: Array<Figure> = []
  let failed = 0
  for (const benchmark of benchmarks) {
    if (selected.length > 0 && !selected.includes(benchmark.name)) continue
    log(`${benchmark.name}: starting`)
    try {
      figures.push(...(await benchmark.run()))
    } catch (error) {
      failed++
      console.error(`benchmark ${benchmark.name} failed:`, error instanceof Error ? error.message : error)
    }
  }
  const seconds = (performance.now() - started) / 1000
  console.log(`\n${table(figures).join("\n")}\n`)
  if (failed > 0) {
    log(`${failed} benchmark(s) failed: results files not written`)
    return 1
  }
  if (selected.length > 0) {
    mergeResults(figures, selected, seconds)
    log(`a subset ran: its figures merged into bench/results.json and bench/results.md in ${seconds.toFixed(0)} s`)
    return 0
  }
  const results = Object.fromEntries(figures.map((f) => [f.name, f.value]))
  writeFileSync(join(root, "bench/results.json"), `${JSON.stringify(results, null, 2)}\n`)
  writeFileSync(join(root, "bench/results.md"), markdown(figures, seconds))
  log(`wrote bench/results.json and bench/results.md in ${seconds.toFixed(0)} s`)
  return 0
}

main().then(
  (code) => {
    process.exitCode = code
  },
  (error) => {
    console.error(error)
    process.exitCode = 1
  }
)
