import { MembershipStore } from "@openaudience/audience"
import { layer } from "@effect/vitest"
import * as Layer from "effect/Layer"
import { SqlMembershipStore } from "../src/index.js"
import { sqliteLayer } from "./fixtures.js"
import { membershipStoreSuite } from "./membershipStoreSuite.js"

layer(MembershipStore.layerMemory, { excludeTestServices: true })(
  "MembershipStore (memory reference)",
  membershipStoreSuite
)

layer(SqlMembershipStore.layer.pipe(Layer.provide(sqliteLayer)), { excludeTestServices: true })(
  "MembershipStore (SQLite)",
  membershipStoreSuite
)
