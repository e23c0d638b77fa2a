/**
 * The append log in front of the database: a pixel is answered once its event is in an append-only segment file,
 * on disk. The events of the requests read in one turn of the event loop are one `write`, at the end of that turn,
 * to a file opened with `O_DSYNC` (it returns once the data is durable), into blocks the segment already has
 * (segments are zero-filled before use). Right after, the group is handed to the backend (the SQLite writer thread,
 * or group commit through @effect/sql), which stores it with everything else queued (idempotent on
 * `(tenant, event_id)`, event log record in the same transaction); a segment file is deleted once every event in it
 * is in the database. If the database cannot take them (an outage), the events stay in their segment and are tried
 * again every second; once `maxPending` events wait, appends are refused (503 with Retry-After) until it catches up.
 *
 * Crash safety: segments live in a folder per process, named with the process's identity:
 * `<directory>/p<pid>-<start>-<boot>-<unique>`, where `<start>` is the process's start time (field 22 of
 * `/proc/<pid>/stat`, clock ticks since boot) and `<boot>` the kernel's boot id (`/proc/sys/kernel/random/boot_id`).
 * A PID alone names no process: after `kill -9` and a restart the PID is often in use again (always in a container,
 * where the server is PID 1), so a folder is live only if a process with its PID is running (not a zombie), on this
 * boot, and started at its start time; any other folder is left by a stopped process. At startup every such folder
 * is replayed into the database (an event already stored is a duplicate and is skipped, so replaying twice is
 * harmless; a torn last line, never acknowledged, is dropped) and removed, before the writer takes events. Folders of
 * the older naming (`p<pid>-<unique>`) are replayed when their PID is not running or is this process's own (this
 * process never makes one, so an earlier process left it). Where `/proc` cannot be read (not Linux) a folder is live
 * while its PID runs, as before, and so is one whose PID `/proc` hides (`hidepid`) but that still answers signals. The directory belongs to one PID namespace: two containers running at once must
 * not share it (each sees the other's PIDs as its own). A clean shutdown stores everything first.
 */
import * as Effect from "effect/Effect"
import { randomBytes } from "node:crypto"
import * as fs from "node:fs"
import { join } from "node:path"
import type { StoredEvent } from "../StoredEvent.js"
import { eventLine, typeOfLine } from "./eventLine.js"
import type { WriteResult } from "./writerThread.js"

/** Where the append log hands its events: the database's writer. */
export type Backend = {
  /** Stores event lines left in segments by a stopped process. */
  readonly storeLines: (text: string, lines: number, done: (result: WriteResult) => void) => void
  /** Someone waits to read what is queued: send it now. */
  readonly hurry: () => void
} & (
  | {
      /**
       * The backend reads appended events back from their segment (the writer threads do), so the append log keeps
       * only where they are until they are stored, not the events: a group waits up to a few hundred milliseconds
       * for company, long enough for its events to outlive two young-generation collections on the HTTP thread and
       * be copied, then promoted.
       */
      readonly readsSegments: true
      /** Stores `count` events appended to a segment (`length` bytes at `position` of `path`); nobody waits. */
      readonly storeAppended: (
        path: string,
        position: number,
        length: number,
        count: number,
        done: (result: WriteResult) => void
      ) => void
    }
  | {
      /** The backend stores appended events from memory (group commit): the append log keeps them until stored. */
      readonly readsSegments: false
      /** Stores events appended to a segment; nobody waits for them. */
      readonly storeAppended: (rows: ReadonlyArray<StoredEvent>, done: (result: WriteResult) => void) => void
    }
)

export interface Observer {
  readonly countEvent: (type: string, outcome: "accepted" | "duplicate" | "failed") => void
  readonly observeAppend: (events: number, millis: number) => void
  readonly warn: (message: string) => void
  readonly info: (message: string) => void
}

export interface AppendLog {
  /** Makes events durable; `done` once they are (with `undefined`), or with why they are not. */
  readonly append: (
    events: ReadonlyArray<StoredEvent>,
    done: (failure: { readonly message: string; readonly retryAfterSeconds?: number } | undefined) => void
  ) => void
  /** Calls `then` once every event appended so far is in the database (at once when none is pending). */
  readonly afterStored: (then: () => void) => void
  /** Events acknowledged or being appended that are not in the database yet. */
  readonly pending: () => number
}

/**
 * Segments are zero-filled to this size before their first event (a spare is prepared in the background while the
 * current one fills): an `O_DSYNC` write over blocks the file already has changes no file size and needs no journal
 * commit, only the data's own flush (measured here: 157-196 µs for 10 KB against 275-347 µs appended to the end).
 */
const defaultSegmentBytes = 16 * 1024 * 1024

const zeroChunk = Buffer.alloc(1024 * 1024)

/** Event lines per message when replaying a segment. */
const replayChunk = 4096

/**
 * Which process made a segment folder: its PID, its start time in clock ticks since boot, and the boot id (hex,
 * no dashes); `start` and `boot` are empty where `/proc` cannot be read.
 */
export interface ProcessIdentity {
  readonly pid: number
  readonly start: string
  readonly boot: string
}

/** A folder named with its process's identity: `p<pid>-<start>-<boot>-<unique>` (several writers may share a process). */
const identityFolderPattern = /^p(\d+)-(\d+)-([0-9a-f]{32})-([0-9a-z]+)$/

/** A folder of the older naming, `p<pid>-<unique>`: its PID is all that is known of its process. */
const legacyFolderPattern = /^p(\d+)-([0-9a-z]+)$/

const bootId = (): string => {
  try {
    const id = fs.readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim().replaceAll("-", "").toLowerCase()
    return /^[0-9a-f]{32}$/.test(id) ? id : ""
  } catch {
    return ""
  }
}

/** The state and start time of a process from `/proc/<pid>/stat`, or `undefined` if there is none to read. */
const procStat = (pid: number | "self"): { readonly state: string; readonly start: string } | undefined => {
  let text: string
  try {
    text = fs.readFileSync(`/proc/${pid}/stat`, "utf8")
  } catch {
    return undefined
  }
  // The command name (field 2) is in parentheses and may hold spaces and parentheses: fields 3 on follow the last ")".
  const fields = text.slice(text.lastIndexOf(")") + 2).split(" ")
  const state = fields[0]
  const start = fields[22 - 3]
  return state === undefined || start === undefined || !/^\d+$/.test(start) ? undefined : { state, start }
}

/** This process's identity (read once: it does not change while the process runs). */
export const ownIdentity: ProcessIdentity = (() => {
  const stat = procStat("self")
  const boot = stat === undefined ? "" : bootId()
  return stat === undefined || boot === ""
    ? { pid: process.pid, start: "", boot: "" }
    : { pid: process.pid, start: stat.start, boot }
})()

/** The identity of the running process `pid` (whose start time `/proc` shows), if any. */
export const identityOf = (pid: number): ProcessIdentity | undefined => {
  const stat = procStat(pid)
  return stat === undefined || ownIdentity.boot === "" ? undefined : { pid, start: stat.start, boot: ownIdentity.boot }
}

/** The name of a new segment folder of the process `identity` (see the module doc). */
export const folderName = (identity: ProcessIdentity, unique: string): string =>
  identity.start === "" ? `p${identity.pid}-${unique}` : `p${identity.pid}-${identity.start}-${identity.boot}-${unique}`

const pidRuns = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM"
  }
}

/**
 * Whether the segment folder `name` belongs to a process still running (leave it alone), or was left by a stopped
 * one (replay it); `undefined` for a name that is no segment folder. The rule is the module doc's.
 */
export const isLive = (name: string): boolean | undefined => {
  const identified = identityFolderPattern.exec(name)
  const legacy = identified === null ? legacyFolderPattern.exec(name) : null
  if (identified === null && legacy === null) return undefined
  const pid = Number((identified ?? legacy)![1])
  if (pid === ownIdentity.pid) {
    // Without /proc this process names its folders by PID alone, and can tell no earlier process of its PID apart.
    if (ownIdentity.start === "") return true
    // A folder of the older naming with this PID was left by an earlier process that had the same PID.
    return identified !== null && identified[2] === ownIdentity.start && identified[3] === ownIdentity.boot
  }
  if (identified !== null && ownIdentity.boot !== "" && identified[3] !== ownIdentity.boot) return false
  const stat = procStat(pid)
  // Not in /proc: gone, unless /proc hides other users' processes (hidepid) and the PID still answers signals.
  if (stat === undefined) return pidRuns(pid)
  if (stat.state === "Z" || stat.state === "X") return false
  return identified === null || identified[2] === stat.start
}

const fsyncPath = (path: string) => {
  const fd = fs.openSync(path, "r")
  try {
    fs.fsyncSync(fd)
  } finally {
    fs.closeSync(fd)
  }
}

/** Counts each line's outcome. */
const countOutcomes = (observer: Observer, types: ReadonlyArray<string>, result: ReadonlyArray<number>) => {
  for (let i = 0; i < types.length; i++) {
    const seq = result[i]!
    observer.countEvent(types[i]!, seq > 0 ? "accepted" : seq === 0 ? "duplicate" : "failed")
  }
}

/** Stores the segments of stopped processes, then deletes them. */
const replay = (directory: string, backend: Backend, observer: Observer) =>
  Effect.async<number, Error>((resume) => {
    const files: Array<string> = []
    const folders: Array<string> = []
    for (const name of fs.readdirSync(directory)) {
      if (isLive(name) !== false) continue
      const folder = join(directory, name)
      folders.push(folder)
      for (const file of fs.readdirSync(folder).sort()) if (file.endsWith(".seg")) files.push(join(folder, file))
    }
    const chunks: Array<{ readonly lines: Array<string>; readonly types: Array<string> }> = []
    let torn = 0
    for (const file of files) {
      // The events end at the first NUL (the zero fill; JSON text never holds a raw NUL), and only whole lines
      // count: whatever follows the last newline was cut by a crash and never acknowledged.
      let text = fs.readFileSync(file, "utf8")
      const end = text.indexOf("\u0000")
      if (end !== -1) text = text.slice(0, end)
      const lines = text.split("\n")
      if (lines.pop() !== "") torn++
      for (const line of lines) {
        const type = typeOfLine(line)
        if (type === undefined) {
          if (line !== "") torn++
          continue
        }
        let chunk = chunks[chunks.length - 1]
        if (chunk === undefined || chunk.lines.length === replayChunk) {
          chunk = { lines: [], types: [] }
          chunks.push(chunk)
        }
        chunk.lines.push(line)
        chunk.types.push(type)
      }
    }
    if (torn > 0) observer.warn(`segment replay: skipped ${torn} incomplete line(s) left by a crash`)
    let replayed = 0
    const next = (index: number) => {
      if (index === chunks.length) {
        for (const folder of folders) fs.rmSync(folder, { recursive: true, force: true })
        if (folders.length > 0) fsyncPath(directory)
        return resume(Effect.succeed(replayed))
      }
      const { lines, types } = chunks[index]!
      backend.storeLines(`${lines.join("\n")}\n`, lines.length, (result) => {
        if ("error" in result) return resume(Effect.fail(new Error(`Replaying segments failed: ${result.error}`)))
        countOutcomes(observer, types, result)
        replayed += lines.length
        next(index + 1)
      })
    }
    next(0)
  })

interface Segment {
  readonly fd: number
  readonly path: string
  /** Bytes written so far (events). */
  size: number
  /** Bytes zero-filled before use (0: the file grows with each write). */
  readonly capacity: number
  /** Events written to it and not stored yet. */
  pending: number
  closed: boolean
}

interface Job {
  readonly rows: ReadonlyArray<StoredEvent>
  readonly text: string
  readonly types: ReadonlyArray<string>
  readonly done: (failure: { readonly message: string; readonly retryAfterSeconds?: number } | undefined) => void
}

type ReadingBackend = Extract<Backend, { readonly readsSegments: true }>
type MemoryBackend = Extract<Backend, { readonly readsSegments: false }>

// Two functions, not one with two closures: closures of one function share its context, so one reading the segment
// would keep the events alive as well.
const fromSegment =
  (backend: ReadingBackend, path: string, position: number, length: number, count: number) =>
  (done: (result: WriteResult) => void) =>
    backend.storeAppended(path, position, length, count, done)
const fromMemory =
  (backend: MemoryBackend, rows: ReadonlyArray<StoredEvent>) => (done: (result: WriteResult) => void) =>
    backend.storeAppended(rows, done)

/**
 * How a group appended at `position` of `path` is handed to `backend` (again after a failure): the events are held
 * only for a backend that stores them from memory.
 */
const storeOf = (
  backend: Backend,
  rows: ReadonlyArray<StoredEvent>,
  path: string,
  position: number,
  length: number,
  count: number
): ((done: (result: WriteResult) => void) => void) =>
  backend.readsSegments ? fromSegment(backend, path, position, length, count) : fromMemory(backend, rows)

/** The append log in `directory` in front of `backend` (see the module doc); closed with the scope. */
export const make = (
  directory: string,
  backend: Backend,
  observer: Observer,
  options: { readonly segmentBytes?: number | undefined; readonly maxPending: number }
) =>
  Effect.gen(function* () {
    const segmentBytes = options.segmentBytes ?? defaultSegmentBytes
    // Segments hold events (personal data): folders 0700, files 0600.
    fs.mkdirSync(directory, { recursive: true, mode: 0o700 })
    const replayed = yield* replay(directory, backend, observer)
    if (replayed > 0) observer.info(`stored ${replayed} event(s) left in segments by a stopped writer`)

    const folder = join(
      directory,
      folderName(ownIdentity, `${Date.now().toString(36)}${randomBytes(4).toString("hex")}`)
    )
    fs.mkdirSync(folder, { mode: 0o700 })
    fsyncPath(directory)
    let segmentNumber = 0
    const nextPath = () => join(folder, `${String(++segmentNumber).padStart(6, "0")}.seg`)
    const { O_CREAT, O_DSYNC, O_EXCL, O_WRONLY } = fs.constants
    /** A segment ready for events: opened `O_DSYNC`, its name durable in the folder. */
    const ready = (path: string, capacity: number): Segment => {
      const fd = fs.openSync(path, O_WRONLY | O_CREAT | O_DSYNC, 0o600)
      fsyncPath(folder)
      return { fd, path, size: 0, capacity, pending: 0, closed: false }
    }
    /** Zero-fills a new segment file off the event loop (libuv's pool), then opens it for events. */
    const zeroFilled = async (path: string): Promise<Segment> => {
      const handle = await fs.promises.open(path, O_WRONLY | O_CREAT | O_EXCL, 0o600)
      try {
        for (let at = 0; at < segmentBytes; at += zeroChunk.length)
          await handle.write(zeroChunk, 0, Math.min(zeroChunk.length, segmentBytes - at), at)
        await handle.datasync()
      } finally {
        await handle.close()
      }
      return ready(path, segmentBytes)
    }
    let stopping = false
    let spare: Segment | undefined
    /** The spare being prepared, if any; settles once it is ready (or failed). */
    let preparing: Promise<void> | undefined
    const prepareSpare = () => {
      if (spare !== undefined || preparing !== undefined || stopping) return
      preparing = zeroFilled(nextPath()).then(
        (prepared) => {
          preparing = undefined
          if (stopping) fs.closeSync(prepared.fd)
          else spare = prepared
        },
        (error) => {
          preparing = undefined
          if (!stopping)
            observer.warn(`cannot prepare the next segment (the next one will grow instead): ${String(error)}`)
        }
      )
    }
    let segment = yield* Effect.tryPromise({
      try: () => zeroFilled(nextPath()),
      catch: (cause) => new Error(`cannot create a segment in ${folder}: ${String(cause)}`, { cause })
    })
    prepareSpare()

    let queue: Array<Job> = []
    let appended = 0
    let stored = 0
    const waiters: Array<{ readonly target: number; readonly then: () => void }> = []
    let idle: (() => void) | undefined

    const settled = (n: number) => {
      stored += n
      while (waiters.length > 0 && waiters[0]!.target <= stored) waiters.shift()!.then()
      if (stored === appended) idle?.()
    }

    const release = (from: Segment, n: number) => {
      from.pending -= n
      if (from.closed && from.pending === 0) {
        fs.close(from.fd, () => fs.unlink(from.path, () => undefined))
      }
    }

    /** Stores a group the backend may read back from the segment (from the page cache, in practice). */
    const store = (
      rows: ReadonlyArray<StoredEvent>,
      from: Segment,
      position: number,
      length: number,
      types: ReadonlyArray<string>
    ) => {
      let failures = 0
      // The events are kept until stored (and retried) only where the backend does not read the segment.
      const write = storeOf(backend, rows, from.path, position, length, types.length)
      const onResult = (result: WriteResult) => {
        if ("error" in result) {
          // The events are durable in the segment: keep them and try again.
          if (failures++ % 30 === 0)
            observer.warn(`storing acknowledged events failed, retrying every second: ${result.error}`)
          setTimeout(() => write(onResult), 1000)
          return
        }
        countOutcomes(observer, types, result)
        release(from, types.length)
        settled(types.length)
      }
      write(onResult)
      if (waiters.length > 0) backend.hurry()
    }

    // The groups' text is encoded into one buffer, reused from group to group (the write is synchronous, so the
    // buffer is free again when it returns): no joined string and no new buffer per group. A group larger than
    // `keptScratchBytes` (a burst) gets a buffer of its own, which is not kept.
    const keptScratchBytes = 1024 * 1024
    let scratch = Buffer.allocUnsafeSlow(64 * 1024)
    const encode = (jobs: ReadonlyArray<Job>): Buffer => {
      let bytes = 0
      for (const job of jobs) bytes += Buffer.byteLength(job.text, "utf8")
      let target = scratch
      if (bytes > scratch.length) {
        target = Buffer.allocUnsafeSlow(Math.max(bytes, 2 * scratch.length))
        if (target.length <= keptScratchBytes) scratch = target
      }
      let offset = 0
      for (const job of jobs) offset += target.write(job.text, offset, "utf8")
      return target.subarray(0, offset)
    }

    // Every request read from the sockets in one turn of the event loop is one group: at the end of the turn
    // (`setImmediate`) the group is one `write` to the segment, opened with O_DSYNC, so the write returns once the
    // data is on disk, and the group's answers go out right after. A synchronous write, measured against one on
    // libuv's thread pool: the pool's threads cost more CPU per request than the event loop waiting (no callback
    // hop, no thread wake-ups), and the groups are larger.
    let scheduled = false
    const flush = () => {
      scheduled = false
      if (queue.length === 0) return
      const jobs = queue
      queue = []
      const types = jobs.length === 1 ? jobs[0]!.types : jobs.flatMap((job) => job.types)
      const rows = jobs.length === 1 ? jobs[0]!.rows : jobs.flatMap((job) => job.rows)
      const buffer = encode(jobs)
      if (full(segment, buffer.length)) rotate(segment)
      const target = segment
      target.pending += types.length
      const started = performance.now()
      try {
        let offset = 0
        while (offset < buffer.length)
          offset += fs.writeSync(target.fd, buffer, offset, buffer.length - offset, target.size + offset)
      } catch (error) {
        observer.warn(`appending events failed; answering their requests with 503: ${String(error)}`)
        for (const job of jobs) job.done({ message: "the event log is unavailable", retryAfterSeconds: 1 })
        release(target, types.length)
        settled(types.length)
        // Whatever part of the group reached the file stays at the end of a closed segment, where a replay drops
        // it as a torn line; the next group starts a new segment.
        rotate(target)
        return
      }
      observer.observeAppend(types.length, performance.now() - started)
      const position = target.size
      target.size += buffer.length
      // Handed to the backend before anyone is answered: a later direct write is stored after these.
      store(rows, target, position, buffer.length, types)
      for (const job of jobs) job.done(undefined)
    }

    /** Whether `bytes` more go to a new segment: past the zero fill, or a spare is ready for a growing one. */
    const full = (target: Segment, bytes: number) =>
      target.size > 0 &&
      (target.capacity > 0
        ? target.size + bytes > target.capacity
        : target.size + bytes > segmentBytes || spare !== undefined)

    /** Moves on to the spare segment, or (none ready) to a new file that grows with each write. */
    const rotate = (target: Segment) => {
      if (target !== segment) return
      try {
        segment = spare ?? ready(nextPath(), 0)
      } catch (error) {
        observer.warn(`cannot open a new segment; appending to the current one: ${String(error)}`)
        return
      }
      spare = undefined
      prepareSpare()
      target.closed = true
      release(target, 0)
    }

    yield* Effect.addFinalizer(() =>
      Effect.async<void>((resume) => {
        const close = () => {
          idle = undefined
          stopping = true
          fs.closeSync(segment.fd)
          if (spare !== undefined) fs.closeSync(spare.fd)
          // A spare still being zero-filled creates its file in the folder: remove the folder after it.
          const remove = () => {
            fs.rmSync(folder, { recursive: true, force: true })
            resume(Effect.void)
          }
          if (preparing === undefined) remove()
          else preparing.then(remove)
        }
        if (stored === appended) return close()
        idle = close
        backend.hurry()
      })
    )

    const log: AppendLog = {
      append: (events, done) => {
        if (events.length === 0) return done(undefined)
        if (appended - stored >= options.maxPending) {
          return done({
            message: `${appended - stored} acknowledged events are waiting for the database; try again later`,
            retryAfterSeconds: 5
          })
        }
        let text = ""
        const types = new Array<string>(events.length)
        for (let i = 0; i < events.length; i++) {
          const line = eventLine(events[i]!, i)
          if (typeof line !== "string") return done({ message: line.message })
          text += line
          types[i] = events[i]!.type
        }
        appended += events.length
        queue.push({ rows: events, text, types, done })
        if (!scheduled) {
          scheduled = true
          setImmediate(flush)
        }
      },
      afterStored: (then) => {
        if (stored >= appended) return then()
        waiters.push({ target: appended, then })
        backend.hurry()
      },
      pending: () => appended - stored
    }
    return log
  })
