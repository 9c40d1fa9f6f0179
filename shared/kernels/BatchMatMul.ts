import {
  type BatchMatMulAttrs,
  type KernelConfig,
  type KernelFunc,
  type TensorInfo,
} from '@tensorflow/tfjs-core'
import { transposeMatrices } from './layout.ts'
import type { WasmHeapBackend } from './run.ts'

/**
 * TF.js 4.22's wasm BatchMatMul runs XNNPACK only when neither operand is transposed; otherwise a
 * scalar loop, 5 to 20 times slower. Every dense layer's backward pass asks for one transposed
 * operand (x^T · dy for the kernel, dy · W^T for the input), so this lays the operands out plain
 * (linear work, a tiled loop of ours: TF.js's Transpose is several times slower) and runs the
 * fast path on them (cubic work).
 *
 * XNNPACK packs its right operand afresh for every new tensor, which costs as much as a product
 * when that operand is a layer's whole kernel (dy · W^T). So when the left side is the smaller
 * (M < N), it computes Cᵀ = op(B)ᵀ · op(A)ᵀ instead, packing op(A)ᵀ, and transposes Cᵀ back.
 */
function transposingMatMul(original: KernelFunc): KernelFunc {
  return (args) => {
    const backend = args.backend as WasmHeapBackend
    const { a, b } = args.inputs as { a: TensorInfo; b: TensorInfo }
    const attrs = args.attrs as unknown as BatchMatMulAttrs
    const plain = !attrs.transposeA && !attrs.transposeB
    if (plain || a.dtype !== 'float32' || b.dtype !== 'float32') return original(args)
    const temporaries: TensorInfo[] = []
    /** A new tensor holding t with its last two axes swapped. */
    const transposed = (t: TensorInfo): TensorInfo => {
      const rows = t.shape.at(-2)!
      const cols = t.shape.at(-1)!
      const out = backend.makeOutput([...t.shape.slice(0, -2), cols, rows], 'float32')
      // Views only now: the allocation can grow the heap and detach earlier ones.
      const src = backend.typedArrayFromHeap(t)
      const count = rows * cols === 0 ? 0 : src.length / (rows * cols)
      transposeMatrices(src, backend.typedArrayFromHeap(out), count, rows, cols)
      return out
    }
    /** op(t)ᵀ when `flagged`, else t itself; a copy is disposed at the end. */
    const laidOut = (t: TensorInfo, flagged: boolean): TensorInfo => {
      if (!flagged) return t
      const out = transposed(t)
      temporaries.push(out)
      return out
    }
    const product = (left: TensorInfo, right: TensorInfo): TensorInfo =>
      original({
        ...args,
        inputs: { a: left, b: right },
        attrs: { ...attrs, transposeA: false, transposeB: false },
      }) as TensorInfo
    try {
      const m = attrs.transposeA ? a.shape.at(-1)! : a.shape.at(-2)!
      const n = attrs.transposeB ? b.shape.at(-2)! : b.shape.at(-1)!
      if (m >= n) return product(laidOut(a, attrs.transposeA), laidOut(b, attrs.transposeB))
      const cT = product(laidOut(b, !attrs.transposeB), laidOut(a, !attrs.transposeA))
      temporaries.push(cT)
      return transposed(cT)
    } finally {
      for (const t of temporaries) backend.disposeData(t.dataId)
    }
  }
}

/** Replaces TF.js's wasm BatchMatMul, which it still runs for the product itself. */
export function batchMatMulOverride(original: KernelConfig): KernelConfig {
  return { ...original, kernelFunc: transposingMatMul(original.kernelFunc) }
}
