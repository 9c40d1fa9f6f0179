export interface SseMessage {
  id: string | undefined
  event: string
  data: string
}

/**
 * Reads a server-sent event stream's body, handing over each message that has an event and data
 * as it arrives; resolves when the body ends or its request is aborted.
 */
export async function readSse(
  body: ReadableStream<Uint8Array>,
  onMessage: (message: SseMessage) => void,
): Promise<void> {
  const reader = body.getReader()
  const decoder = new TextDecoder()
  let buffer = ''
  for (;;) {
    const { done, value } = await reader.read().catch(() => ({ done: true, value: undefined }))
    if (done) return
    buffer += decoder.decode(value, { stream: true })
    let end
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end)
      buffer = buffer.slice(end + 2)
      const field = (name: string) => block.match(new RegExp(`^${name}: ?(.*)$`, 'm'))?.[1]
      const event = field('event')
      const data = field('data')
      if (event !== undefined && data !== undefined) onMessage({ id: field('id'), event, data })
    }
  }
}
