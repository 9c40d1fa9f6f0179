import {
  backend_util,
  Conv2D,
  Conv2DBackpropFilter,
  type Conv2DBackpropFilterAttrs,
  Fill,
  getKernel,
  type KernelBackend,
  type KernelConfig,
  type KernelFunc,
  type NamedAttrMap,
  type NamedTensorInfoMap,
  Reshape,
  Slice,
  type TensorInfo,
  Transpose,
} from '@tensorflow/tfjs-core'

type Shape4D = [number, number, number, number]

/**
 * The attributes TF.js passes, plus `dilations`, which it never does: tfjs-core's conv2d gradient
 * refuses dilation rates above 1 on every backend. The kernel honours them all the same.
 */
export type FilterGradientAttrs = Conv2DBackpropFilterAttrs & {
  dilations?: [number, number] | number
}

/** Runs another wasm kernel on the same backend; the caller disposes what it returns. */
function run(
  kernelName: string,
  backend: KernelBackend,
  inputs: NamedTensorInfoMap,
  attrs: NamedAttrMap,
): TensorInfo {
  const kernel = getKernel(kernelName, 'wasm')
  if (!kernel) throw new Error(`${Conv2DBackpropFilter} (wasm) needs the ${kernelName} kernel`)
  return kernel.kernelFunc({ inputs, backend, attrs }) as TensorInfo
}

/**
 * dW[fy, fx, ci, co] = Σ over b, y, x of X[b, y·s + fy·d − pad, x·s + fx·d − pad, ci] · dY[b, y, x, co].
 *
 * That sum is a forward convolution with the roles swapped: X transposed to [ci, H, W, B] (input
 * channels as the batch, the batch as channels) convolved with dY transposed to [oh, ow, B, co]
 * as the filter, with the stride as dilation and the dilation as stride, gives [ci, fh, fw, co].
 * So it runs on the backend's XNNPACK Conv2D. The padding is made explicit: the top and left as
 * the forward pass had them, the bottom and right just enough for fh x fw outputs (rows the
 * forward pass never reached are sliced off first).
 */
function conv2DBackpropFilter({
  inputs,
  backend: anyBackend,
  attrs,
}: Parameters<KernelFunc>[0]): TensorInfo {
  const backend = anyBackend as KernelBackend
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
  const keep = (t: TensorInfo) => (temporaries.push(t), t)
  try {
    const xUsed =
      usedHeight < inHeight || usedWidth < inWidth
        ? keep(
            run(
              Slice,
              backend,
              { x },
              {
                begin: [0, 0, 0, 0],
                size: [batch, usedHeight, usedWidth, inChannels],
              },
            ),
          )
        : x
    const xT = keep(run(Transpose, backend, { x: xUsed }, { perm: [3, 1, 2, 0] }))
    const dyT = keep(run(Transpose, backend, { x: dy }, { perm: [1, 2, 0, 3] }))
    const pad: backend_util.ExplicitPadding = [
      [0, 0],
      [padInfo.top, neededHeight - padInfo.top - usedHeight],
      [padInfo.left, neededWidth - padInfo.left - usedWidth],
      [0, 0],
    ]
    const dwT = keep(
      run(
        Conv2D,
        backend,
        { x: xT, filter: dyT },
        {
          strides: [info.dilationHeight, info.dilationWidth],
          dilations: [info.strideHeight, info.strideWidth],
          pad,
          dataFormat: 'NHWC',
        },
      ),
    )
    // [ci, fh, fw, co] -> [fh, fw, ci, co]; with one input channel, the same bytes.
    return inChannels === 1
      ? run(Reshape, backend, { x: dwT }, { shape: info.filterShape })
      : run(Transpose, backend, { x: dwT }, { perm: [1, 2, 0, 3] })
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
