/**
 * Runs test/sqliteContender.ts in several processes on one SQLite file, started together: better-sqlite3 is
 * synchronous, so fibers of one process never interleave statements and only processes contend for real.
 */
import { spawn } from "node:child_process"
import { fileURLToPath } from "node:url"
import * as Effect from "effect/Effect"

/** Starts `processes` contenders, lets them go once all are ready, and returns what each accepted. */
export const contend = (options: {
  readonly kind: "delivery" | "caps"
  readonly url: string
  readonly processes: number
  readonly count: number
  readonly limit?: number
}): Effect.Effect<ReadonlyArray<number>> =>
  Effect.promise(async () => {
    const children = Array.from({ length: options.processes }, () =>
      spawn(
        process.execPath,
        [
          "--import",
          "tsx",
          fileURLToPath(new URL("./sqliteContender.ts", import.meta.url)),
          options.kind,
          options.url,
          String(options.count),
          String(options.limit ?? 0)
        ],
        { cwd: fileURLToPath(new URL("..", import.meta.url)), stdio: ["pipe", "pipe", "pipe"] }
      )
    )
    const lines = children.map((child) => {
      let out = ""
      let err = ""
      child.stderr.on("data", (chunk) => {
        err += String(chunk)
      })
      const waitFor = (prefix: string) =>
        new Promise<string>((resolve, reject) => {
          const look = () => {
            const line = out.split("\n").find((l) => l.startsWith(prefix))
            if (line !== undefined) resolve(line)
          }
          child.stdout.on("data", (chunk) => {
            out += String(chunk)
            look()
          })
          child.on("exit", (code) => {
            look()
            reject(new Error(`contender exited with ${code} before ${prefix}: ${err}`))
          })
          look()
        })
      return { ready: waitFor("ready"), done: waitFor("done ") }
    })
    try {
      await Promise.all(lines.map((l) => l.ready))
      for (const child of children) child.stdin.write("go\n")
      const done = await Promise.all(lines.map((l) => l.done))
      return done.map((line) => Number(line.slice("done ".length)))
    } finally {
      for (const child of children) if (child.exitCode === null) child.kill("SIGKILL")
    }
  })
