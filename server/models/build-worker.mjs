// The model builder's worker entry. Node 20 does not apply the tsx loader of `--import tsx` to a
// worker's entry file, so this plain module registers tsx here, then loads the TypeScript.
import { register } from 'tsx/esm/api'

register()
await import('./build-worker.ts')
