/**
 * The accounts service over the in-memory user store (the same suite runs on SQLite and PostgreSQL in
 * @openaudience/storage-sql).
 */
import { layer } from "@effect/vitest"
import { KeyStore } from "@openaudience/vault"
import * as Layer from "effect/Layer"
import { UserStore } from "../src/index.js"
import { accountsSuite } from "./accountsSuite.js"

layer(Layer.merge(UserStore.layerMemory, KeyStore.layerMemory))("Accounts (in-memory store)", accountsSuite)
