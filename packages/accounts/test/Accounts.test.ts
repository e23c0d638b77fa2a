/**
 * The accounts service over the in-memory user store (the same suite runs on SQLite and PostgreSQL in
 * @openaudience/storage-sql), and the cost of a failed login: an unknown address runs scrypt like a known one.
 */
import { performance } from "node:perf_hooks"
import { assert, describe, it, layer } from "@effect/vitest"
import { KeyStore } from "@openaudience/vault"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { Accounts, UserStore } from "../src/index.js"
import { accountsLayer, accountsSuite, fresh, onboard } from "./accountsSuite.js"

const stores = Layer.merge(UserStore.layerMemory, KeyStore.layerMemory)

layer(stores)("Accounts (in-memory store)", accountsSuite)

describe("Accounts login cost", () => {
  it.effect(
    "an unknown address costs about as much as a wrong password (scrypt runs against a dummy hash)",
    () =>
      Effect.gen(function* () {
        const accounts = yield* Accounts.Accounts
        const known = `${fresh("cost")}@example.test`
        yield* onboard(fresh("t"), known)
        const timed = (email: string) =>
          Effect.gen(function* () {
            let best = Number.POSITIVE_INFINITY
            for (let i = 0; i < 3; i++) {
              const start = performance.now()
              yield* Effect.either(accounts.login({ email, password: "wrong but long enough" }))
              best = Math.min(best, performance.now() - start)
            }
            return best
          })
        const wrong = yield* timed(known)
        const unknown = yield* timed(`${fresh("nobody")}@example.test`)
        // Without the dummy hash an unknown address answers in well under a millisecond, against tens of
        // milliseconds for scrypt; the bound leaves room for a loaded machine.
        assert.isAbove(unknown, wrong / 3, `unknown ${unknown} ms, wrong password ${wrong} ms`)
      }).pipe(Effect.provide(accountsLayer), Effect.provide(stores)),
    60_000
  )
})
