// A burst of HTTP requests from a process of its own, so the coordinator under test has its
// event loop to itself (requests sent from the test's own process would arrive paced by it).
// Each request on its own connection, written as soon as it connects. Run by burst() below.
import { spawn } from 'node:child_process'
import { connect } from 'node:net'

export interface BurstSpec {
  port: number
  method: 'GET' | 'POST'
  path: string
  /** A JSON body, or none. */
  body?: unknown
  /** One request per token, in order. */
  tokens: string[]
}

/** One answer: status, headers (lower case), the JSON body; or the socket error (a reset). */
export interface BurstAnswer {
  status: number
  headers: Record<string, string>
  json: unknown
  error?: string
}

/** Sends the burst from a child process and returns every answer, in order. */
export async function burst(spec: BurstSpec): Promise<BurstAnswer[]> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'integration/burst.ts'], {
    env: { ...process.env, POLLEN_BURST: JSON.stringify(spec) },
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  let out = ''
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()))
  const code = await new Promise((resolve) => child.on('exit', resolve))
  if (code !== 0) throw new Error(`the burst process exited with ${String(code)}`)
  return JSON.parse(out) as BurstAnswer[]
}

function send(spec: BurstSpec, token: string): Promise<BurstAnswer> {
  const body = spec.body === undefined ? '' : JSON.stringify(spec.body)
  const request =
    `${spec.method} ${spec.path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n` +
    `Authorization: Bearer ${token}\r\n` +
    (body
      ? `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n`
      : '') +
    `\r\n${body}`
  return new Promise((resolve) => {
    const chunks: Buffer[] = []
    const socket = connect(spec.port, '127.0.0.1', () => socket.write(request))
    socket.on('data', (chunk: Buffer) => chunks.push(chunk))
    socket.on('error', (error: NodeJS.ErrnoException) =>
      resolve({ status: 0, headers: {}, json: null, error: error.code ?? error.message }),
    )
    socket.on('close', () => {
      const text = Buffer.concat(chunks).toString()
      const split = text.indexOf('\r\n\r\n')
      const [statusLine = '', ...lines] = text.slice(0, split).split('\r\n')
      const headers = Object.fromEntries(
        lines.map((l) => [
          l.slice(0, l.indexOf(':')).toLowerCase(),
          l.slice(l.indexOf(':') + 1).trim(),
        ]),
      )
      let json: unknown = null
      try {
        json = JSON.parse(text.slice(split + 4))
      } catch {
        // not JSON: left null, and the test says so
      }
      resolve({ status: Number(statusLine.split(' ')[1] ?? 0), headers, json })
    })
  })
}

if (process.env.POLLEN_BURST) {
  const spec = JSON.parse(process.env.POLLEN_BURST) as BurstSpec
  const answers = await Promise.all(spec.tokens.map((token) => send(spec, token)))
  process.stdout.write(JSON.stringify(answers))
}
