import { z } from 'zod'
import { DatasetPatchSchema, DatasetSpecSchema } from '../../shared/protocol/index.ts'

// The datasets' part of the OpenAPI document (openapi.ts): the admin's declarations and held-out
// sets, and the spec a device reads.

const json = (schema: z.ZodType) => ({
  content: {
    'application/json': { schema: z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) },
  },
})
const ok = (description: string) => ({ description })
const admin = [{ admin: [] }]
const device = [{ device: [] }]

export const datasetPaths = () => ({
  '/api/v1/datasets': {
    post: {
      summary: 'Declare a dataset: its features (image H×W×C or tabular columns), named classes',
      security: admin,
      requestBody: json(DatasetSpecSchema),
      responses: {
        201: ok('DatasetView'),
        400: ok('invalid_request: the field at fault'),
        409: ok('a dataset of that name exists'),
      },
    },
    get: {
      summary:
        'Declared datasets (DatasetView, declared: true) and names devices hold undeclared (declared: false): counts and histograms only. ?q= searches name, description and tags',
      security: admin,
      responses: { 200: ok('{ datasets: DatasetListing[] }'), 400: ok('q over 200 characters') },
    },
  },
  '/api/v1/datasets/{name}': {
    get: {
      summary: 'A declared dataset with its counts and held-out set',
      security: admin,
      responses: { 200: ok('DatasetView'), 404: ok('not declared') },
    },
    patch: {
      summary:
        'Change its description, tags or deviceLabelling (name, features, classes are fixed)',
      security: admin,
      requestBody: json(DatasetPatchSchema),
      responses: {
        200: ok('DatasetView'),
        400: ok('a fixed field, or a bad one'),
        404: ok('not declared'),
      },
    },
    delete: {
      summary: 'Delete it and its held-out set',
      security: admin,
      responses: { 204: ok('deleted'), 404: ok('not declared'), 409: ok('a task uses it') },
    },
  },
  '/api/v1/datasets/{name}/held-out': {
    put: {
      summary:
        'Upload its held-out set: multipart/form-data, field "file": 2 IDX files (gzipped or not), 1 zip of images in a folder per class, or 1 CSV; ?resize=false refuses images of another size',
      security: admin,
      requestBody: {
        content: {
          'multipart/form-data': {
            schema: {
              type: 'object',
              properties: { file: { type: 'array', items: { type: 'string', format: 'binary' } } },
            },
          },
        },
      },
      responses: {
        200: ok('DatasetView with notes (images resized, say)'),
        400: ok('every problem found, each naming file, entry, row and field; nothing stored'),
        404: ok('not declared'),
        413: ok('the body is over the bound'),
        415: ok('not multipart/form-data'),
      },
    },
    delete: {
      summary: 'Remove its held-out set: its tasks train on without held-out evaluation',
      security: admin,
      responses: { 204: ok('removed'), 404: ok('no such dataset, or it has no held-out set') },
    },
  },
  '/api/v1/devices/datasets/{name}': {
    get: {
      summary: "A declared dataset's spec: its features and classes by name",
      security: device,
      responses: { 200: ok('DatasetSpec'), 404: ok('not declared') },
    },
  },
})
