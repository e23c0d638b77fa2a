/**
 * A TCP port on 127.0.0.1 that is free right now, for tests that start the server as a child process (its PORT
 * must be 1–65535, so port 0 will not do).
 */
import { type AddressInfo, createServer } from "node:net"

export const freePort = (): Promise<number> =>
  new Promise<number>((resolve, reject) => {
    const probe = createServer()
    probe.once("error", reject)
    probe.listen(0, "127.0.0.1", () => {
      const { port } = probe.address() as AddressInfo
      probe.close(() => resolve(port))
    })
  })
