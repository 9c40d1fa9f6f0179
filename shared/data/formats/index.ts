// Reading a data scientist's files into Examples for a declared dataset (issue 16), in Node and
// in the browser alike: pure JS (fflate, fast-png, jpeg-js), nothing from node:.
export type { Examples, FileProblem, NamedFile, ReadLimits, ReadResult } from './types.ts'
export { MAX_PROBLEMS } from './problems.ts'
export { encodeIdx, IDX_IMAGES_MAGIC, IDX_LABELS_MAGIC, readIdx } from './idx.ts'
export { readHeldOut } from './held-out.ts'
export { readCsv, LABEL_COLUMN } from './csv.ts'
export { readImageArchive, readImageEntries } from './archive.ts'
export type { ImageEntriesOptions, ImageEntry } from './archive.ts'
export { decodeImage, MAX_SOURCE_PIXELS, resizeBilinear, toChannels } from './image.ts'
export type { Bitmap } from './image.ts'
