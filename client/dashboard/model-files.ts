// A model saved as TF.js Layers files: the current global model or an earlier round's.
import type { TaskView } from '../../shared/protocol/index.ts'
import type { Api } from './api.ts'
import { saveFile, slug } from './files.ts'

/**
 * Downloads the model (`round` null: the current one) and saves `<name>.json` and
 * `<name>.weights.bin` side by side; resolves to the words to tell the person.
 */
export async function saveModel(
  doc: Document,
  api: Api,
  task: TaskView,
  round: number | null,
): Promise<string> {
  const { modelJson, weights } = await api.model(task.id, round)
  // model.json names its weights file by the name it is saved under, so tf.loadLayersModel finds it.
  const name = `${slug(task.name)}-round-${round ?? task.committedRounds}`
  const manifest = modelJson.weightsManifest.map((group) => ({
    ...group,
    paths: [`${name}.weights.bin`],
  }))
  saveFile(
    doc,
    `${name}.json`,
    new Blob([JSON.stringify({ ...modelJson, weightsManifest: manifest })], {
      type: 'application/json',
    }),
  )
  saveFile(doc, `${name}.weights.bin`, new Blob([weights], { type: 'application/octet-stream' }))
  return `Saved ${name}.json and ${name}.weights.bin (TF.js Layers format).`
}
