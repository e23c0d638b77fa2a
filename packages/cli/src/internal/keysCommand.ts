/**
 * `openaudience keys rotate`: the last step of a master secret rotation. With `OA_SECRET` the new secret and
 * `OA_SECRET_PREVIOUS` the old one (as the server runs during the rotation), every data key (and every tenant's
 * blind-index root) is re-wrapped under the new secret by @openaudience/vault's `Vault.rotate`, without touching
 * the encrypted data; when nothing failed, the new secret becomes the active one, and `OA_SECRET_PREVIOUS` can go.
 */
import * as Command from "@effect/cli/Command"
import { Vault } from "@openaudience/vault"
import * as Effect from "effect/Effect"
import type * as Option from "effect/Option"
import * as OperatorAudit from "./operatorAudit.js"
import * as Shared from "./options.js"
import * as Output from "./output.js"
import { Unsuccessful } from "./report.js"
import type { CommandError } from "./errors.js"
import { type StoreLayer, withStore } from "./store.js"
import { withVault } from "./vault.js"

const rotate = Command.make("rotate", { json: Shared.json }, ({ json }) =>
  Effect.gen(function* () {
    const vault = yield* Vault.Vault
    const report = yield* OperatorAudit.audited(
      { tenant: null, action: "keys.rotate", target: "data-keys" },
      vault.rotate(),
      (report) => ({ ...report })
    )
    yield* Output.print(json, report, () =>
      Output.fields([
        ["master secret version", String(report.version)],
        ["re-wrapped", String(report.rewrapped)],
        ["already current", String(report.alreadyCurrent)],
        ["skipped (shredded)", String(report.skipped)],
        ["failed", String(report.failed)],
        ["new secret active", report.activated ? "yes: OA_SECRET_PREVIOUS can be removed" : "no"]
      ])
    )
    if (report.failed > 0) {
      return yield* new Unsuccessful({
        message: `${report.failed} data key(s) could not be re-wrapped: their master secret is neither OA_SECRET nor OA_SECRET_PREVIOUS; keep OA_SECRET_PREVIOUS`
      })
    }
  })
).pipe(
  Command.withDescription(
    "Re-wrap every data key under the current master secret (OA_SECRET), opening older ones with OA_SECRET_PREVIOUS; run it during a rotation, then remove OA_SECRET_PREVIOUS."
  )
)

/** `openaudience keys …`. */
export const command: Command.Command<
  "keys",
  StoreLayer,
  CommandError,
  { readonly subcommand: Option.Option<{ readonly json: boolean }> }
> = Command.make("keys").pipe(
  Command.withDescription("Manage the data keys that encrypt personal data (master secret rotation)."),
  Command.withSubcommands([withStore(withVault(rotate))])
)
