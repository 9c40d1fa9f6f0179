// The e2e tests' side door to the coordinator: its admin REST API, over real HTTP from Node.
import { expect } from '@playwright/test'
import type { RoundView, TaskSpecInput, TaskView } from '../shared/protocol/index.ts'
import { e2eEnvironment } from './environment.ts'

const { url, adminToken } = await e2eEnvironment()
const admin = { Authorization: `Bearer ${adminToken}` }

export async function createTask(body: TaskSpecInput): Promise<TaskView> {
  const response = await fetch(`${url}/api/v1/tasks`, {
    method: 'POST',
    headers: { ...admin, 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  })
  expect(response.status, await response.clone().text()).toBe(201)
  return (await response.json()) as TaskView
}

export async function rounds(taskId: string): Promise<RoundView[]> {
  const response = await get(`${url}/api/v1/tasks/${taskId}/rounds`)
  return ((await response.json()) as { rounds: RoundView[] }).rounds
}

/**
 * A GET, tried again once when the connection breaks: a kept-alive socket the server closes
 * just as it is reused (likelier while training loads both cores) resets, and a GET is safe
 * to repeat.
 */
async function get(target: string): Promise<Response> {
  try {
    return await fetch(target, { headers: admin })
  } catch {
    return await fetch(target, { headers: admin })
  }
}

export const deleteTask = (id: string) =>
  fetch(`${url}/api/v1/tasks/${id}`, { method: 'DELETE', headers: admin })

/** A task name unique to this run: every phone in the run sees the same coordinator's tasks. */
export const uniqueName = (name: string) => `${name} ${crypto.randomUUID().slice(0, 8)}`
