import { createAdaptorServer, type ServerType } from '@hono/node-server'
import type { AddressInfo } from 'node:net'

/**
 * Connections the kernel queues before the coordinator accepts them. Node's default (511)
 * overflowed when 3,000 phones checked in at once: the rest waited out SYN retries (p99 25 s).
 * Linux caps it at net.core.somaxconn (4096 by default since 5.4).
 */
export const LISTEN_BACKLOG = 4096

type ListenOptions = Parameters<typeof createAdaptorServer>[0] & {
  port: number
  hostname: string
  backlog?: number
}

/** `serve` from @hono/node-server, with the listen backlog set. */
export function listen(
  { backlog = LISTEN_BACKLOG, ...options }: ListenOptions,
  listening?: (info: AddressInfo) => void,
): ServerType {
  const server = createAdaptorServer(options)
  server.listen({ port: options.port, host: options.hostname, backlog }, () =>
    listening?.(server.address() as AddressInfo),
  )
  return server
}
