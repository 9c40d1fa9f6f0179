import {
  backend_util,
  Conv2D,
  Conv2DBackpropInput,
  type Conv2DBackpropInputAttrs,
  type KernelConfig,
  type KernelFunc,
  type TensorInfo,
} from '@tensorflow/tfjs-core'
import { runWasmKernel, type WasmHeapBackend, type WithDilations } from './run.ts'

type Shape4D = [number, number, number, number]

/** What TF.js passes, plus dilations (see WithDilations). */
export type InputGradientAttrs = WithDilations<Conv2DBackpropInputAttrs>

/**
 * dX[b, i, j, ci] = Σ over y, x, fy, fx with y·s + fy·d − pad = i and x·s + fx·d − pad = j of
 * dY[b, y, x, co] · W[fy, fx, ci, co].
 *
 * TF.js 4.22's wasm kernel runs that sum as a scalar loop, half of a synet training step. It is a
 * forward convolution: dY with s − 1 zeros between its rows and columns (for stride s), padded by
 * the filter's reach − 1 − the forward padding, convolved at stride 1 and dilation d with W turned
 * 180° and its channel axes swapped ([fh, fw, co, ci]). So it runs on the backend's XNNPACK Conv2D, as fast as the
 * forward pass. Where the forward padding exceeds the filter's reach (only explicit padding can),
 * that padding would be negative, and TF.js's own kernel runs instead (it knows no dilation).
 */
function inputGradient(original: KernelFunc): KernelFunc {
  return (args) => {
    const backend = args.backend as WasmHeapBackend
    const { dy, filter } = args.inputs as { dy: TensorInfo; filter: TensorInfo }
    const a = args.attrs as unknown as InputGradientAttrs
    if (a.dataFormat !== 'NHWC' || dy.dtype !== 'float32' || filter.dtype !== 'float32') {
      return original(args)
    }
    const info = backend_util.computeConv2DInfo(
      a.inputShape,
      filter.shape as Shape4D,
      a.strides,
      a.dilations ?? 1,
      a.pad,
      a.dimRoundingMode,
      false,
      'channelsLast',
    )
    const [batch, inHeight, inWidth, inChannels] = a.inputShape
    const [fh, fw] = filter.shape as Shape4D
    // dy's own height and width: TF.js's conv2d gradient drops dimRoundingMode.
    const [, outHeight, outWidth, outChannels] = dy.shape as Shape4D
    const { strideHeight: sh, strideWidth: sw, dilationHeight, dilationWidth, padInfo } = info
    const top = info.effectiveFilterHeight - 1 - padInfo.top
    const left = info.effectiveFilterWidth - 1 - padInfo.left
    const bottom = inHeight - 1 + padInfo.top - (outHeight - 1) * sh
    const right = inWidth - 1 + padInfo.left - (outWidth - 1) * sw
    const empty = batch * inHeight * inWidth * inChannels * outHeight * outWidth * outChannels
    if (empty === 0) return original(args)
    if (Math.min(top, left, bottom, right) < 0) {
      if (dilationHeight > 1 || dilationWidth > 1) {
        throw new Error(
          `${Conv2DBackpropInput} (wasm): dilations [${dilationHeight}, ${dilationWidth}] with ` +
            `padding [${padInfo.top}, ${padInfo.left}] beyond the filter's reach are not supported`,
        )
      }
      return original(args)
    }

    const temporaries: TensorInfo[] = []
    try {
      const turned = backend.makeOutput([fh, fw, outChannels, inChannels], 'float32')
      temporaries.push(turned)
      const spread =
        sh === 1 && sw === 1
          ? dy
          : backend.makeOutput(
              [batch, (outHeight - 1) * sh + 1, (outWidth - 1) * sw + 1, outChannels],
              'float32',
            )
      if (spread !== dy) temporaries.push(spread)
      // Views only now: an allocation can grow the heap and detach earlier ones.
      turnFilter(
        backend.typedArrayFromHeap(filter),
        backend.typedArrayFromHeap(turned),
        filter.shape as Shape4D,
      )
      if (spread !== dy) {
        spreadRows(backend.typedArrayFromHeap(dy), backend.typedArrayFromHeap(spread), dy, sh, sw)
      }
      return runWasmKernel(
        Conv2DBackpropInput,
        Conv2D,
        backend,
        { x: spread, filter: turned },
        {
          strides: 1,
          dilations: [dilationHeight, dilationWidth],
          pad: [
            [0, 0],
            [top, bottom],
            [left, right],
            [0, 0],
          ],
          dataFormat: 'NHWC',
        },
      )
    } finally {
      // Also lets the Conv2D kernel drop the XNNPACK operator it built for the turned filter.
      for (const t of temporaries) backend.disposeData(t.dataId)
    }
  }
}

/** W[fy, fx, ci, co] → turned[fh − 1 − fy, fw − 1 − fx, co, ci]. */
function turnFilter(w: Float32Array, turned: Float32Array, shape: Shape4D): void {
  const [fh, fw, inChannels, outChannels] = shape
  for (let fy = 0; fy < fh; fy++) {
    for (let fx = 0; fx < fw; fx++) {
      const from = (fy * fw + fx) * inChannels * outChannels
      const to = ((fh - 1 - fy) * fw + (fw - 1 - fx)) * outChannels * inChannels
      for (let ci = 0; ci < inChannels; ci++) {
        for (let co = 0; co < outChannels; co++) {
          turned[to + co * inChannels + ci] = w[from + ci * outChannels + co]!
        }
      }
    }
  }
}

/** dY [b, h, w, c] → spread [b, (h − 1)·sh + 1, (w − 1)·sw + 1, c], zeros between. */
function spreadRows(
  dy: Float32Array,
  spread: Float32Array,
  info: TensorInfo,
  sh: number,
  sw: number,
): void {
  const [batch, height, width, channels] = info.shape as Shape4D
  const spreadHeight = (height - 1) * sh + 1
  const spreadWidth = (width - 1) * sw + 1
  spread.fill(0)
  for (let b = 0; b < batch; b++) {
    for (let y = 0; y < height; y++) {
      const from = (b * height + y) * width * channels
      const to = (b * spreadHeight + y * sh) * spreadWidth * channels
      for (let x = 0; x < width; x++) {
        spread.set(
          dy.subarray(from + x * channels, from + (x + 1) * channels),
          to + x * sw * channels,
        )
      }
    }
  }
}

/** Replaces TF.js's wasm Conv2DBackpropInput, keeping it for the cases the formulation skips. */
export function conv2DBackpropInputOverride(original: KernelConfig): KernelConfig {
  return { ...original, kernelFunc: inputGradient(original.kernelFunc) }
}
