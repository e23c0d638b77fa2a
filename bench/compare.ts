/**
 * A same-run A/B of two checkouts of the reference server: `npx tsx bench/compare.ts <before> <after> [pixel|ad]`.
 * Both servers run at once from their own trees (each a checkout with its dependencies installed: for example
 * `git worktree add ../before HEAD~1 && (cd ../before && pnpm install --offline)`), and the load alternates
 * between them in short rounds (A then B, then B then A, …), so a machine whose speed drifts (the reference
 * machine's bare server moves between 16,000 and 37,000 requests per second from one minute to the next) affects
 * both sides alike. Per round it prints requests per second and the server's CPU time per request (main thread, or
 * every thread with COMPARE_THREADS=all); at the end the medians and the median of the per-round ratios after /
 * before. `pixel` sends the collector benchmark's product views (50 connections), `ad` the ads benchmark's
 * `/ad` JSON request (10 connections). COMPARE_ROUNDS (default 8) and COMPARE_SECONDS (default 5, after 1 s of
 * warm-up each) set the length; COMPARE_BEFORE_FLAGS / COMPARE_AFTER_FLAGS add Node flags to one side; COMPARE_RATE
 * offers a fixed number of requests per second instead of saturating the server (then read the CPU per request).
 * Each side runs its tree's server bundle (as the benchmarks do), built first in that tree with
 * `pnpm --filter @openaudience/example-server run build:bundle`.
 */
import autocannon from "autocannon"
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { execFileSync } from "node:child_process"
import { join, resolve } from "node:path"
import { adPath } from "./ads.ts"
import { type Child, pixelPaths, serverArgs, startChild } from "./collector.ts"
import { log, median } from "./stats.ts"

const [beforeTree, afterTree, kindArgument = "pixel"] = process.argv.slice(2)
if (beforeTree === undefined || afterTree === undefined || (kindArgument !== "pixel" && kindArgument !== "ad")) {
  process.stderr.write("usage: npx tsx bench/compare.ts <before-checkout> <after-checkout> [pixel|ad]\n")
  process.exit(2)
}
const kind: "pixel" | "ad" = kindArgument
const rounds = Number(process.env.COMPARE_ROUNDS ?? 8)
const seconds = Number(process.env.COMPARE_SECONDS ?? 5)
const allThreads = process.env.COMPARE_THREADS === "all"
// COMPARE_RATE=<requests/s>: a fixed offered load instead of as fast as the server answers, so the CPU per request
// compares the two sides' efficiency with less of the machine's contention in it.
const rate = process.env.COMPARE_RATE === undefined ? {} : { overallRate: Number(process.env.COMPARE_RATE) }

const userAgent =
  "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
const adHeaders = { "user-agent": userAgent, accept: "application/json", referer: "http://localhost/news/" }
const pixelHeaders = { "user-agent": userAgent, accept: "image/*", referer: "https://shop.example.com/" }

/** CPU time (ms) of a process's main thread, or of all its threads. */
const cpuMs = (pid: number): number => {
  let total = 0
  for (const task of readdirSync(`/proc/${pid}/task`)) {
    if (!allThreads && task !== String(pid)) continue
    try {
      const fields = readFileSync(`/proc/${pid}/task/${task}/stat`, "utf8").split(") ")[1]!.split(" ")
      total += (Number(fields[11]) + Number(fields[12])) * 10
    } catch {
      // The thread ended meanwhile.
    }
  }
  return total
}

const paths = pixelPaths(`cmp${Date.now().toString(36)}`)

const load = (child: Child, duration: number) =>
  kind === "ad"
    ? autocannon({ url: `${child.url}${adPath}`, connections: 10, duration, headers: adHeaders, ...rate })
    : autocannon({
        url: child.url,
        connections: 50,
        duration,
        ...rate,
        headers: pixelHeaders,
        requests: [
          {
            method: "GET",
            setupRequest: (request) => {
              request.path = paths.next()
              return request
            }
          }
        ]
      })

const sides = [
  { name: "before", tree: resolve(beforeTree), flags: process.env.COMPARE_BEFORE_FLAGS ?? "" },
  { name: "after", tree: resolve(afterTree), flags: process.env.COMPARE_AFTER_FLAGS ?? "" }
] as const
const dataDirs: Array<string> = []
const children: Array<Child> = []
try {
  for (const side of sides) {
    execFileSync("pnpm", ["--filter", "@openaudience/example-server", "run", "build:bundle"], {
      cwd: side.tree,
      stdio: "ignore"
    })
    const dataDir = mkdtempSync(join(tmpdir(), "oa-compare-"))
    dataDirs.push(dataDir)
    const flags = side.flags.split(" ").filter((flag) => flag !== "")
    children.push(
      await startChild(side.name, side.tree, [...flags, ...serverArgs(side.tree)], {
        OA_DATA_DIR: dataDir,
        OA_DEMO: "1"
      })
    )
  }
  const measured: Array<Array<{ readonly rps: number; readonly cpuUs: number }>> = [[], []]
  for (let round = 0; round < rounds; round++) {
    for (const index of round % 2 === 0 ? [0, 1] : [1, 0]) {
      const child = children[index]!
      await load(child, 1)
      const before = cpuMs(child.pid!)
      const result = await load(child, seconds)
      const cpuUs = ((cpuMs(child.pid!) - before) * 1000) / Math.max(1, result.requests.total)
      measured[index]!.push({ rps: result.requests.average, cpuUs })
      log(
        `round ${round + 1}/${rounds} ${sides[index]!.name}: ${Math.round(result.requests.average)} req/s, ` +
          `${cpuUs.toFixed(1)} µs CPU per request, non-2xx ${result.non2xx}, errors ${result.errors}`
      )
    }
  }
  for (const [index, side] of sides.entries()) {
    const runs = measured[index]!
    log(
      `${side.name}: median ${Math.round(median(runs.map((run) => run.rps)))} req/s, ` +
        `${median(runs.map((run) => run.cpuUs)).toFixed(1)} µs CPU per request`
    )
  }
  const ratios = measured[1]!.map((run, i) => run.rps / measured[0]![i]!.rps)
  log(`after / before, per round: ${ratios.map((r) => r.toFixed(3)).join(" ")}; median ${median(ratios).toFixed(3)}`)
} finally {
  for (const child of children) await child.stop()
  for (const dataDir of dataDirs) rmSync(dataDir, { recursive: true, force: true })
}
