// Fashion-MNIST as Debian's dataset-fashion-mnist installs it (.ci/run installs it when missing):
// the tests and bench:accuracy take it as a data scientist's own files. Node only.
import { join } from 'node:path'
import type { DatasetSpec } from '../shared/protocol/datasets.ts'

export const FASHION_MNIST_DIR = '/usr/share/datasets/fashion-mnist'

/** The gzipped IDX pairs, images then labels: 60,000 to train on, 10,000 held out. */
export const FASHION_MNIST_FILES = {
  train: ['train-images-idx3-ubyte.gz', 'train-labels-idx1-ubyte.gz'].map((f) =>
    join(FASHION_MNIST_DIR, f),
  ) as [string, string],
  test: ['t10k-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte.gz'].map((f) =>
    join(FASHION_MNIST_DIR, f),
  ) as [string, string],
}

/** Its declaration, as a data scientist would POST it (Xiao et al. 2017 name the classes). */
export const FASHION_MNIST: DatasetSpec = {
  name: 'fashion-mnist',
  description: 'Zalando article images, 28×28 grayscale (Xiao et al. 2017)',
  tags: ['images', 'clothes', 'benchmark'],
  features: { kind: 'image', height: 28, width: 28, channels: 1 },
  classes: [
    'T-shirt/top',
    'Trouser',
    'Pullover',
    'Dress',
    'Coat',
    'Sandal',
    'Shirt',
    'Sneaker',
    'Bag',
    'Ankle boot',
  ],
  deviceLabelling: true,
}
