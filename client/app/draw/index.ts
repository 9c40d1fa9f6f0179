export { mountDrawPad, PAD_SIZE, paintExample } from './pad.ts'
export type { DrawPad, DrawPadOptions } from './pad.ts'
export {
  hasLightBackground,
  inkOf,
  luminance,
  MIN_CONTRAST,
  MNIST_BOX,
  MNIST_SIZE,
  toMnist,
} from './preprocess.ts'
export type { GrayImage, ToMnistOptions } from './preprocess.ts'
