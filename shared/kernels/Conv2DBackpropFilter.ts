import {
  backend_util,
  Conv2D,
  Conv2DBackpropFilter,
  type Conv2DBackpropFilterAttrs,
  Fill,
  type KernelBackend,
  type KernelConfig,
  type KernelFunc,
  type NamedAttrMap,
  type NamedTensorInfoMap,
  type TensorInfo,
} from '@tensorflow/tfjs-core'
import { firstAxisInsidePixels, swapFirstAndLastAxes } from './layout.ts'
import { runWasmKernel, type WasmHeapBackend, type WithDilations } from './run.ts'

type Shape4D = [number, number, number, number]

/** What TF.js passes, plus dilations (see WithDilations). */
export type FilterGradientAttrs = WithDilations<Conv2DBackpropFilterAttrs>

const run = (
  kernelName: string,
  backend: KernelBackend,
  inputs: NamedTensorInfoMap,
  attrs: NamedAttrMap,
): TensorInfo => runWasmKernel(Conv2DBackpropFilter, kernelName, backend, inputs, attrs)

/**
 * dW[fy, fx, ci, co] = Σ over b, y, x of X[b, y·s + fy·d − pad, x·s + fx·d − pad, ci] · dY[b, y, x, co].
 *
 * That sum is a forward convolution with the roles swapped: X transposed to [ci, H, W, B] (input
 * channels as the batch, the batch as channels) convolved with dY transposed to [oh, ow, B, co]
 * as the filter, with the stride as dilation and the dilation as stride, gives [ci, fh, fw, co].
 * So it runs on the backend's XNNPACK Conv2D; the three layout changes are loops of ours (see
 * layout.ts). The padding is made explicit: the top and left as the forward pass had them, the
 * bottom and right just enough for fh x fw outputs (rows the forward pass never reached are left
 * out of the transposed copy).
 */
function conv2DBackpropFilter({
  inputs,
  backend: anyBackend,
  attrs,
}: Parameters<KernelFunc>[0]): TensorInfo {
  const backend = anyBackend as WasmHeapBackend
  const { x, dy } = inputs as { x: TensorInfo; dy: TensorInfo }
  const a = attrs as unknown as FilterGradientAttrs
  if (a.dataFormat !== 'NHWC') {
    throw new Error(
      `${Conv2DBackpropFilter} (wasm) supports dataFormat 'NHWC' only, got '${a.dataFormat}'`,
    )
  }
  if (x.dtype !== 'float32' || dy.dtype !== 'float32') {
    throw new Error(
      `${Conv2DBackpropFilter} (wasm) takes float32 tensors, got x ${x.dtype} and dy ${dy.dtype}`,
    )
  }
  const info = backend_util.computeConv2DInfo(
    x.shape as Shape4D,
    a.filterShape,
    a.strides,
    a.dilations ?? 1,
    a.pad,
    a.dimRoundingMode,
    false,
    'channelsLast',
  )
  const [batch, inHeight, inWidth, inChannels] = x.shape as Shape4D
  const { outChannels, padInfo } = info
  if (dy.shape.length !== 4 || dy.shape[0] !== batch || dy.shape[3] !== outChannels) {
    throw new Error(
      `${Conv2DBackpropFilter} (wasm): dy has shape [${dy.shape.join(', ')}], ` +
        `expected [${batch}, height, width, ${outChannels}]`,
    )
  }
  // dy's own height and width, not the ones computeConv2DInfo derives: TF.js's conv2d gradient
  // drops dimRoundingMode, and dy is what the forward pass produced.
  const [, outHeight, outWidth] = dy.shape as Shape4D
  // Rows (columns) of the padded input that the forward pass read, and those of X among them.
  const neededHeight = (outHeight - 1) * info.strideHeight + info.effectiveFilterHeight
  const neededWidth = (outWidth - 1) * info.strideWidth + info.effectiveFilterWidth
  const usedHeight = Math.min(inHeight, neededHeight - padInfo.top)
  const usedWidth = Math.min(inWidth, neededWidth - padInfo.left)
  if (usedHeight <= 0 || usedWidth <= 0 || batch === 0) {
    // Every tap fell in the padding (or there is nothing to sum): the gradient is zero.
    return run(Fill, backend, {}, { shape: info.filterShape, value: 0, dtype: 'float32' })
  }

  const temporaries: TensorInfo[] = []
  try {
    const [fh, fw, ,] = info.filterShape
    const xT = backend.makeOutput([inChannels, usedHeight, usedWidth, batch], 'float32')
    temporaries.push(xT)
    const dyT = backend.makeOutput([outHeight, outWidth, batch, outChannels], 'float32')
    temporaries.push(dyT)
    // Views only now: an allocation can grow the heap and detach earlier ones.
    swapFirstAndLastAxes(
      backend.typedArrayFromHeap(x),
      backend.typedArrayFromHeap(xT),
      x.shape as Shape4D,
      usedHeight,
      usedWidth,
    )
    firstAxisInsidePixels(
      backend.typedArrayFromHeap(dy),
      backend.typedArrayFromHeap(dyT),
      dy.shape as Shape4D,
    )
    const pad: backend_util.ExplicitPadding = [
      [0, 0],
      [padInfo.top, neededHeight - padInfo.top - usedHeight],
      [padInfo.left, neededWidth - padInfo.left - usedWidth],
      [0, 0],
    ]
    const dwT = run(
      Conv2D,
      backend,
      { x: xT, filter: dyT },
      {
        strides: [info.dilationHeight, info.dilationWidth],
        dilations: [info.strideHeight, info.strideWidth],
        pad,
        dataFormat: 'NHWC',
      },
    )
    temporaries.push(dwT)
    // [ci, fh, fw, co] -> [fh, fw, ci, co].
    const dw = backend.makeOutput(info.filterShape, 'float32')
    firstAxisInsidePixels(backend.typedArrayFromHeap(dwT), backend.typedArrayFromHeap(dw), [
      inChannels,
      fh,
      fw,
      outChannels,
    ])
    return dw
  } finally {
    // Also lets the Conv2D kernel drop the XNNPACK operator it built for the dyT filter: the wasm
    // heap stays flat over repeated calls.
    for (const t of temporaries) backend.disposeData(t.dataId)
  }
}

/** The filter gradient of conv2d, which TF.js 4.22's wasm backend lacks. */
export const conv2DBackpropFilterConfig: KernelConfig = {
  kernelName: Conv2DBackpropFilter,
  backendName: 'wasm',
  kernelFunc: conv2DBackpropFilter,
}
