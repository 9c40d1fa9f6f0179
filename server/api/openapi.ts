import { z } from 'zod'
import {
  CheckinRequestSchema,
  EnrolRequestSchema,
  ERROR_CODES,
  PROTOCOL_VERSION,
  TaskPatchSchema,
  TaskSpecSchema,
} from '../../shared/protocol/index.ts'
import {
  KeysMessageSchema,
  RevealMessageSchema,
  SharesMessageSchema,
} from '../../shared/secagg/index.ts'
import { datasetPaths } from './openapi-datasets.ts'

const json = (schema: z.ZodType) => ({
  content: {
    'application/json': { schema: z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) },
  },
})
const ok = (description: string) => ({ description })
const admin = [{ admin: [] }]
const secureAnswers = {
  200: ok('accepted'),
  400: ok('invalid_request: the field at fault'),
  404: ok('no such secure round'),
  409: ok('wrong stage, not selected, left behind, or a repeat'),
  413: ok('payload_too_large'),
  422: ok('a key, share or ciphertext that is wrong'),
}
const device = [{ device: [] }]

/** The admin API: tasks, rounds, models, datasets, events. */
const adminPaths = () => ({
  '/api/v1/tasks': {
    post: {
      summary: 'Create a task',
      security: admin,
      requestBody: json(TaskSpecSchema),
      responses: { 201: ok('the task') },
    },
    get: { summary: 'List tasks', security: admin, responses: { 200: ok('{ tasks }') } },
  },
  '/api/v1/tasks/{id}': {
    get: {
      summary: 'A task with its status and current round',
      security: admin,
      responses: { 200: ok('the task'), 404: ok('no such task') },
    },
    patch: {
      summary: 'Pause, resume, or change settings for the next rounds',
      security: admin,
      requestBody: json(TaskPatchSchema),
      responses: { 200: ok('the task') },
    },
    delete: {
      summary: 'Delete a task and its rounds',
      security: admin,
      responses: { 204: ok('deleted') },
    },
  },
  '/api/v1/tasks/{id}/rounds': {
    get: { summary: 'Rounds of a task', security: admin, responses: { 200: ok('{ rounds }') } },
  },
  '/api/v1/join': {
    get: {
      summary: 'The URL phones on the network should open (for a QR code), and every URL served',
      security: admin,
      responses: { 200: ok('{ phoneUrl, urls }') },
    },
  },
  '/api/v1/tasks/{id}/rounds/{round}/devices': {
    get: {
      summary: 'The devices selected in a round and where each got to',
      security: admin,
      responses: {
        200: ok('{ devices: RoundDeviceView[] }'),
        404: ok('no such task or round'),
      },
    },
  },
  '/api/v1/tasks/{id}/model': {
    get: {
      summary: 'Current global model, TF.js Layers model.json',
      security: admin,
      responses: { 200: ok('model.json') },
    },
  },
  '/api/v1/tasks/{id}/model/{hash}.bin': {
    get: {
      summary: 'Weights file named by model.json',
      security: admin,
      responses: { 200: ok('float32 weights') },
    },
  },
  '/api/v1/tasks/{id}/rounds/{round}/model': {
    get: {
      summary: "A committed round's model, TF.js Layers model.json",
      security: admin,
      responses: {
        200: ok('model.json'),
        400: ok('round is not a number'),
        404: ok('no such task or round'),
        409: ok('the round is open or abandoned: it committed no model'),
      },
    },
  },
  '/api/v1/tasks/{id}/rounds/{round}/model/{hash}.bin': {
    get: {
      summary: "Weights file named by a round's model.json",
      security: admin,
      responses: { 200: ok('float32 weights'), 404: ok("not that round's weights") },
    },
  },
  '/api/v1/events': {
    get: {
      summary: 'Server-sent events (also ?token=)',
      security: admin,
      responses: { 200: ok('text/event-stream') },
    },
  },
})

/** The device protocol: enrol, check in, models, uploads, secure aggregation. */
const devicePaths = () => ({
  '/api/v1/devices': {
    post: {
      summary: 'Enrol a device',
      requestBody: json(EnrolRequestSchema),
      responses: { 201: ok('{ deviceId, token }') },
    },
  },
  '/api/v1/devices/checkin': {
    post: {
      summary: 'Check in: assignment, retry or none',
      security: device,
      requestBody: json(CheckinRequestSchema),
      responses: { 200: ok('CheckinAnswer') },
    },
  },
  '/api/v1/devices/tasks/{id}/model': {
    get: {
      summary: "A task's current model: spec, hash and the URL of its weights",
      security: device,
      responses: { 200: ok('CurrentModelAnswer'), 404: ok('no such task on offer') },
    },
  },
  '/api/v1/models/{hash}': {
    get: {
      summary: 'A model by content hash (immutable)',
      security: device,
      responses: { 200: ok('tensor container'), 304: ok('not modified') },
    },
  },
  '/api/v1/tasks/{id}/rounds/{round}/updates': {
    post: {
      summary:
        'Upload a weight delta (tensor container, application/octet-stream); in a secure round, the masked frame (PSA1)',
      security: device,
      responses: {
        200: ok('accepted'),
        404: ok('unknown-round'),
        409: ok('duplicate'),
        410: ok('late'),
        400: ok('round not a canonical integer; the body cut off'),
        408: ok('the body stalled or trickled past its time bound'),
        413: ok('rejected: too large'),
        422: ok('rejected'),
        429: ok('this device has too many uploads in progress (Retry-After)'),
        503: ok('the coordinator is busy (Retry-After)'),
      },
    },
  },
  '/api/v1/tasks/{id}/rounds/{round}/secagg': {
    get: {
      summary: "Secure aggregation: what this device must do now in the round's SecAgg+ stages",
      security: device,
      responses: {
        200: ok('SecAggView'),
        404: ok('no such secure round'),
        409: ok('not part of it'),
      },
    },
  },
  '/api/v1/tasks/{id}/rounds/{round}/secagg/keys': {
    post: {
      summary: 'Secure aggregation: advertise two P-256 public keys',
      security: device,
      requestBody: json(KeysMessageSchema),
      responses: secureAnswers,
    },
  },
  '/api/v1/tasks/{id}/rounds/{round}/secagg/shares': {
    post: {
      summary: 'Secure aggregation: one sealed bundle of shares per neighbour',
      security: device,
      requestBody: json(SharesMessageSchema),
      responses: secureAnswers,
    },
  },
  '/api/v1/tasks/{id}/rounds/{round}/secagg/reveal': {
    post: {
      summary: 'Secure aggregation: the shares unmasking needs',
      security: device,
      requestBody: json(RevealMessageSchema),
      responses: secureAnswers,
    },
  },
})

/** What operators poll. */
const operationPaths = () => ({
  '/healthz': {
    get: {
      summary: 'Health: 200 ok, or 503 degraded with what is failing since when',
      responses: { 200: ok('ok'), 503: ok('degraded: a write keeps failing') },
    },
  },
  '/metrics': { get: { summary: 'Prometheus metrics', responses: { 200: ok('text/plain') } } },
})

/** Every API error body; `code` is one of the protocol's error table (docs/PROTOCOL.md). */
const apiError = {
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message'],
      properties: {
        code: { enum: Object.keys(ERROR_CODES) },
        message: { type: 'string' },
        issues: {
          type: 'array',
          items: {
            type: 'object',
            properties: {
              field: { type: 'string' },
              message: { type: 'string' },
              file: { type: 'string' },
              entry: { type: 'string' },
              row: { type: 'integer' },
            },
          },
        },
      },
    },
  },
}

/** The OpenAPI description of the REST API, request bodies generated from the zod schemas. */
export function openApiDocument() {
  return {
    openapi: '3.1.0',
    info: {
      title: 'Pollen coordinator',
      version: String(PROTOCOL_VERSION),
      description: 'Federated learning for phones, in the browser. See docs/PROTOCOL.md.',
    },
    components: {
      securitySchemes: {
        admin: { type: 'http', scheme: 'bearer', description: 'POLLEN_ADMIN_TOKEN' },
        device: {
          type: 'http',
          scheme: 'bearer',
          description: 'token returned by POST /api/v1/devices',
        },
      },
      schemas: { ApiError: apiError },
    },
    paths: { ...adminPaths(), ...datasetPaths(), ...devicePaths(), ...operationPaths() },
  }
}
