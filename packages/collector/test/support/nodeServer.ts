/** node:http servers in tests: listening on a free loopback port, and closed with their connections. */
import type { Server } from "node:http"
import type { AddressInfo } from "node:net"

/** Starts listening on a free port of 127.0.0.1; resolves with the port. */
export const listen = async (server: Server): Promise<number> => {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  return (server.address() as AddressInfo).port
}

/** Closes a server (when there is one) and cuts its open connections. */
export const close = (server: Server | undefined): Promise<void> =>
  new Promise<void>((resolve) => {
    if (server === undefined) return resolve()
    server.close(() => resolve())
    server.closeAllConnections()
  })
