/**
 * Daily salts for tenants in cookieless mode. The anonymizer's `SaltStore` creates one random salt per UTC day and
 * destroys it 48 hours after its day began; this keeps the current one at hand for the synchronous hot path,
 * refreshed every minute and right after each rotation, so no request waits on the store.
 */
import { SaltStore } from "@openaudience/anonymizer"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schedule from "effect/Schedule"

export interface SaltsShape {
  /** Today's salt (undefined only before the first refresh). */
  readonly current: () => SaltStore.Salt | undefined
}

export class Salts extends Context.Tag("@openaudience/example-server/Salts")<Salts, SaltsShape>() {}

export const layer = Layer.scoped(
  Salts,
  Effect.gen(function* () {
    const store = yield* SaltStore.SaltStore
    let salt = yield* store.current
    yield* Effect.forkScoped(SaltStore.rotation)
    yield* Effect.forkScoped(
      Effect.repeat(
        Effect.tap(store.current, (fresh) =>
          Effect.sync(() => {
            salt = fresh
          })
        ),
        Schedule.spaced("1 minute")
      )
    )
    return Salts.of({ current: () => (salt.destroyed ? undefined : salt) })
  })
).pipe(Layer.provide(SaltStore.layerMemory))
