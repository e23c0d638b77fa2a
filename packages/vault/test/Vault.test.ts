import { layer } from "@effect/vitest"
import { KeyStore } from "../src/index.js"
import { secretCheckSuite, vaultSuite } from "./keyStoreSuite.js"

layer(KeyStore.layerMemory, { excludeTestServices: true })("Vault (in-memory key store)", vaultSuite)
layer(KeyStore.layerMemory, { excludeTestServices: true })("SecretCheck (in-memory key store)", secretCheckSuite)
