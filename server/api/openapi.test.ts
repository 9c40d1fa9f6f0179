import { describe, expect, it } from 'vitest'
import { ERROR_CODES } from '../../shared/protocol/index.ts'
import { openApiDocument } from './openapi.ts'

describe('openApiDocument', () => {
  const doc = openApiDocument()

  it('describes the admin, device and operator routes, bodies from the zod schemas', () => {
    const paths = Object.keys(doc.paths)
    for (const path of [
      '/api/v1/tasks',
      '/api/v1/datasets/{name}/held-out',
      '/api/v1/devices/checkin',
      '/healthz',
      '/metrics',
    ])
      expect(paths).toContain(path)
    expect(new Set(paths).size).toBe(paths.length)
    const body = doc.paths['/api/v1/devices'].post.requestBody.content['application/json'].schema
    expect(body).toMatchObject({ type: 'object', required: ['protocolVersion'] })
  })

  it('names every error code of the table in its error body', () => {
    expect(doc.components.schemas.ApiError.properties.error.properties.code.enum).toEqual(
      Object.keys(ERROR_CODES),
    )
  })
})
