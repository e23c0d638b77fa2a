/**
 * `NodeCollector.lingeringClose`: an answer written before the request's body is in reaches a client that is still
 * sending it. node:http closes such a connection as soon as the answer is out; the client's next write then meets a
 * reset and the client never reads the answer. The client here holds its reading until after the server has
 * answered and written more body, so the race goes the losing way every time without the lingering close.
 */
import { afterEach, assert, describe, it } from "@effect/vitest"
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http"
import { connect } from "node:net"
import * as NodeCollector from "../src/NodeCollector.js"
import * as NodeServer from "./support/nodeServer.js"

let server: Server | undefined
afterEach(async () => {
  await NodeServer.close(server)
  server = undefined
})

/** Answers 413 at once, without reading the body, and tells when the answer is written. */
const start = async (linger: boolean, answered: (at: number) => void): Promise<number> => {
  const handler = (_req: IncomingMessage, res: ServerResponse) => {
    res.once("finish", () => answered(Date.now()))
    res.writeHead(413, { "content-type": "text/plain", connection: "close" }).end("too large")
  }
  server = createServer()
  if (linger) NodeCollector.lingeringClose(server, { lingerMs: 5_000 })
  server.on("request", handler)
  return NodeServer.listen(server)
}

/** A promise of the time the server's answer was written, and the callback that settles it. */
const answerSignal = () => {
  let answered!: (at: number) => void
  const written = new Promise<number>((resolve) => {
    answered = resolve
  })
  return { answered, written }
}

interface Outcome {
  readonly answer: string
  readonly error: string | undefined
  readonly closedAfterMs: number
}

/**
 * Sends a head declaring a large body and a first piece; once the server has answered (unread by the client), keeps
 * sending for a while, then reads what came back.
 */
const send = (port: number, waitForAnswer: Promise<number>, chunked: boolean, pieces: number): Promise<Outcome> =>
  new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1")
    const received: Array<Buffer> = []
    let error: string | undefined
    const started = Date.now()
    socket.pause()
    socket.on("data", (chunk) => received.push(chunk))
    socket.on("error", (cause) => {
      error = cause.message
    })
    socket.on("close", () =>
      resolve({ answer: Buffer.concat(received).toString("latin1"), error, closedAfterMs: Date.now() - started })
    )
    const piece = Buffer.alloc(32 * 1024, "a")
    const framed = chunked ? Buffer.concat([Buffer.from("8000\r\n"), piece, Buffer.from("\r\n")]) : piece
    socket.write(
      `POST /v1/events HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n${chunked ? "transfer-encoding: chunked" : "content-length: 100000000"}\r\nconnection: close\r\n\r\n`
    )
    socket.write(framed)
    void waitForAnswer.then(async () => {
      // The server has answered and (without lingering) closed: more body now meets a closed socket.
      for (let i = 0; i < pieces && !socket.destroyed; i++) {
        socket.write(framed)
        await new Promise((wake) => setTimeout(wake, 10))
      }
      socket.resume()
    })
  })

describe("NodeCollector.lingeringClose", () => {
  for (const chunked of [false, true]) {
    it(`lets a client still sending a ${chunked ? "chunked" : "declared"} body read the answer`, async () => {
      const { answered, written } = answerSignal()
      const port = await start(true, answered)
      const outcome = await send(port, written, chunked, 20)
      assert.match(outcome.answer, /^HTTP\/1\.1 413 /)
      assert.include(outcome.answer, "too large")
      // Closed once the client read the answer and hung up, or the linger ran out: never held open.
      assert.isBelow(outcome.closedAfterMs, 15_000)
    })
  }

  it("without it, the same client loses the answer (the failure this guards against)", async () => {
    const { answered, written } = answerSignal()
    const port = await start(false, answered)
    // Sending until the reset is seen (at most 2 s).
    const outcome = await send(port, written, false, 200)
    assert.notMatch(outcome.answer, /^HTTP\/1\.1 413 /)
    assert.isDefined(outcome.error)
  })

  it("closes a connection whose request was read whole as node:http does, without lingering", async () => {
    server = NodeCollector.lingeringClose(createServer(), { lingerMs: 10_000 })
    server.on("request", (req: IncomingMessage, res: ServerResponse) => {
      req.resume()
      req.once("end", () => res.writeHead(200, { connection: "close" }).end("ok"))
    })
    const port = await NodeServer.listen(server)
    const outcome = await new Promise<Outcome>((resolve) => {
      const socket = connect(port, "127.0.0.1")
      const received: Array<Buffer> = []
      const started = Date.now()
      socket.on("data", (chunk) => received.push(chunk))
      socket.on("error", () => {})
      // The client does not hang up itself: the server must close at once, not after the linger.
      socket.on("end", () =>
        resolve({
          answer: Buffer.concat(received).toString("latin1"),
          error: undefined,
          closedAfterMs: Date.now() - started
        })
      )
      socket.write("POST /x HTTP/1.1\r\nhost: x\r\ncontent-length: 5\r\nconnection: close\r\n\r\nhello")
    })
    assert.match(outcome.answer, /^HTTP\/1\.1 200 /)
    assert.isBelow(outcome.closedAfterMs, 5_000)
  })
})
