// Which datasets the digit pad serves: MNIST's kind of example (28×28 grayscale) with the
// classes '0'..'9' in order, whatever the dataset is called.
import type { DatasetSpec } from '../../../shared/protocol/datasets.ts'

const DIGITS = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']

export function isDigitDataset({ features, classes }: Pick<DatasetSpec, 'features' | 'classes'>) {
  return (
    features.kind === 'image' &&
    features.height === 28 &&
    features.width === 28 &&
    features.channels === 1 &&
    classes.length === DIGITS.length &&
    classes.every((c, i) => c === DIGITS[i])
  )
}
