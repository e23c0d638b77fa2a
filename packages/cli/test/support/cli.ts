/**
 * Runs the real `openaudience` command as a child process (`node --import tsx src/bin.ts`, as `pnpm openaudience`
 * does through tsx), against the database a test names.
 */
import { execFile } from "node:child_process"
import { fileURLToPath } from "node:url"

const bin = fileURLToPath(new URL("../../src/bin.ts", import.meta.url))
const root = fileURLToPath(new URL("../../../..", import.meta.url))

/** What a run printed and how it ended. */
export interface Run {
  readonly code: number
  readonly stdout: string
  readonly stderr: string
}

/** Removes ANSI colours (@effect/cli colours its help and usage errors on a terminal). */
export const plain = (text: string): string => text.replace(/\x1b\[[0-9;]*m/g, "")

/** Runs `openaudience <args>` with `OA_DATABASE_URL=databaseUrl`, from the repository root. */
export const cli = (databaseUrl: string, ...args: ReadonlyArray<string>): Promise<Run> =>
  cliWith({ OA_DATABASE_URL: databaseUrl }, ...args)

/**
 * Runs `openaudience <args>` with these variables added to the environment (`OA_SECRET`, `OA_DATA_DIR`…), from the
 * repository root. The master secret variables of the test's own environment are not passed on.
 */
export const cliWith = (env: Readonly<Record<string, string>>, ...args: ReadonlyArray<string>): Promise<Run> =>
  new Promise((resolve, reject) => {
    const { OA_SECRET: _secret, OA_SECRET_PREVIOUS: _previous, OA_SMTP_URL: _smtp, ...inherited } = process.env
    execFile(
      process.execPath,
      ["--import", "tsx", bin, ...args],
      { cwd: root, env: { ...inherited, ...env }, timeout: 60_000 },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === "number" ? error.code : undefined
        if (code === undefined) reject(error)
        else resolve({ code, stdout, stderr })
      }
    )
  })

/** Runs `openaudience <args> --json`, expects exit code 0, and parses stdout as one JSON value. */
export const cliJson = <A>(databaseUrl: string, ...args: ReadonlyArray<string>): Promise<A> =>
  cliJsonWith<A>({ OA_DATABASE_URL: databaseUrl }, ...args)

/** `cliJson` with these variables added to the environment (see `cliWith`). */
export const cliJsonWith = async <A>(
  env: Readonly<Record<string, string>>,
  ...args: ReadonlyArray<string>
): Promise<A> => {
  const run = await cliWith(env, ...args, "--json")
  if (run.code !== 0) throw new Error(`openaudience ${args.join(" ")} --json: exit ${run.code}: ${run.stderr}`)
  try {
    return JSON.parse(run.stdout) as A
  } catch (error) {
    throw new Error(`openaudience ${args.join(" ")} --json: not one JSON value (${error}): ${run.stdout}`)
  }
}
