/**
 * `openaudience audit verify|list`: the hash-chained audit log (@openaudience/audit over `SqlAuditLog`).
 * `verify` checks the whole chain and its head and exits with code 1 when an entry was altered, removed or
 * added outside the log, naming the first entry at fault; `list` shows one tenant's entries, oldest first.
 */
import * as Command from "@effect/cli/Command"
import * as HelpDoc from "@effect/cli/HelpDoc"
import * as Options from "@effect/cli/Options"
import * as ValidationError from "@effect/cli/ValidationError"
import { type AuditEntry, AuditLog } from "@openaudience/audit"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Shared from "./options.js"
import * as Output from "./output.js"
import { Unsuccessful } from "./report.js"
import { withStore } from "./store.js"

const verify = Command.make("verify", { json: Shared.json }, ({ json }) =>
  Effect.gen(function* () {
    const log = yield* AuditLog.AuditLog
    const result = yield* log.verify
    yield* Output.print(json, result, () =>
      result.ok
        ? Output.fields([
            ["audit log", "intact"],
            ["entries", String(result.entries)],
            ["head seq", String(result.head.seq)],
            ["head hash", result.head.hash]
          ])
        : Output.fields([
            ["audit log", "BROKEN"],
            ["at entry", String(result.seq)],
            ["reason", result.reason],
            ["message", result.message]
          ])
    )
    if (!result.ok) {
      return yield* new Unsuccessful({
        message: `the audit log is broken at entry ${result.seq} (${result.reason}): ${result.message}`
      })
    }
  })
).pipe(
  Command.withDescription(
    "Check the audit log's hash chain and head; exit code 1, naming the first entry at fault, when an entry was altered, removed or added outside the log."
  )
)

/** `--NAME N`, an integer from `min` to `max`, refused with a message naming the option. */
const integer = (name: string, min: number, max: number, description: string) =>
  Options.integer(name).pipe(
    Options.withPseudoName("N"),
    Options.withDescription(description),
    Options.mapEffect((n) =>
      Number.isSafeInteger(n) && n >= min && n <= max
        ? Effect.succeed(n)
        : Effect.fail(
            ValidationError.invalidValue(HelpDoc.p(`Invalid --${name}: ${n} is not an integer from ${min} to ${max}`))
          )
    )
  )

/** An entry as printed: as stored, with its time as ISO 8601. */
const entryJson = (entry: AuditEntry.Entry) => ({ ...entry, at: Output.time(entry.at) })

const list = Command.make(
  "list",
  {
    tenant: Shared.tenant,
    after: integer("after", 0, Number.MAX_SAFE_INTEGER, "Only entries after this sequence number (for paging).").pipe(
      Options.optional
    ),
    limit: integer("limit", 1, 1000, "At most this many entries (1 to 1000, default 100).").pipe(
      Options.withDefault(100)
    ),
    json: Shared.json
  },
  ({ after, json, limit, tenant }) =>
    Effect.gen(function* () {
      const log = yield* AuditLog.AuditLog
      const entries = yield* log.list(
        Option.match(after, { onNone: () => ({ tenant, limit }), onSome: (after) => ({ tenant, after, limit }) })
      )
      yield* Output.print(json, entries.map(entryJson), () =>
        Output.table(
          ["SEQ", "TIME", "ACTOR", "ACTION", "TARGET", "OUTCOME"],
          entries.map((entry) => [
            String(entry.seq),
            Output.time(entry.at),
            `${entry.actor.kind}:${entry.actor.id}`,
            entry.action,
            entry.target,
            entry.outcome
          ])
        )
      )
    })
).pipe(Command.withDescription("List a tenant's audit entries, oldest first."))

/** `openaudience audit …`. */
export const command = Command.make("audit").pipe(
  Command.withDescription("Check and read the hash-chained audit log."),
  Command.withSubcommands([withStore(verify), withStore(list)])
)
