// Typed lint. Keeps the folder boundaries of the brief: shared/ imports neither side,
// server/ and client/ never import each other.
import js from '@eslint/js'
import tseslint from 'typescript-eslint'
import importX from 'eslint-plugin-import-x'
import vitest from '@vitest/eslint-plugin'

const boundary = (message, ...groups) => ({
  'no-restricted-imports': ['error', { patterns: [{ group: groups, message }] }],
})

// A later block's no-restricted-imports replaces an earlier one's: the worker rules repeat
// client/'s own boundary.
const CLIENT = { group: ['**/server/**'], message: 'client/ never imports server/' }
const WORKER =
  'a worker entry imports nothing from the page bundle (style.md 10): shared/, packages and its own message types only'
const SERVICE_WORKER =
  'the service worker and what it loads (outbox, storage, history store, device library) never reach the page: no DOM helpers, screens, main or dashboard'
/** The page's own modules: its entry, its DOM helpers and its screens. */
const SCREENS = ['tasks', 'data', 'draw', 'try', 'contribute', 'training']
const PAGE = [
  '**/ui/**',
  '**/main.ts',
  '**/dashboard/**',
  ...SCREENS.flatMap((screen) => [`**/app/${screen}/**`, `../${screen}/**`]),
]

export default tseslint.config(
  {
    ignores: [
      'node_modules',
      'dist',
      'public/data',
      'test-results',
      'playwright-report',
      '.pollen*',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        projectService: { allowDefaultProject: ['*.js'] },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    plugins: { 'import-x': importX },
    settings: { 'import-x/ignore': ['node_modules'] },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
      'import-x/no-cycle': ['error', { ignoreExternal: true }],
    },
  },
  {
    files: ['shared/**'],
    rules: boundary(
      'shared/ is isomorphic: it imports neither server/ nor client/ nor node:',
      '**/server/**',
      '**/client/**',
      'node:*',
    ),
  },
  { files: ['server/**'], rules: boundary('server/ never imports client/', '**/client/**') },
  { files: ['client/**'], rules: boundary('client/ never imports server/', '**/server/**') },
  {
    files: ['data/**'],
    rules: boundary(
      'data/ loads files for Node: it imports neither server/ nor client/',
      '**/server/**',
      '**/client/**',
    ),
  },
  {
    files: ['client/ui/**'],
    rules: boundary(
      'client/ui/ serves both pages: it imports neither of them',
      '**/server/**',
      '**/app/**',
      '**/dashboard/**',
    ),
  },
  {
    files: ['client/app/training/worker.ts', 'client/app/training/api.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            CLIENT,
            { regex: '^\\.\\.?/(?!(\\.\\./)*shared/|api\\.ts$)', message: WORKER },
          ],
        },
      ],
    },
  },
  {
    files: [
      'client/app/pwa/sw.ts',
      'client/app/pwa/caches.ts',
      'client/app/outbox/**',
      'client/app/storage/**',
      'client/app/history/store.ts',
      'client/app/privacy/contribution.ts',
      'client/device/**',
    ],
    ignores: ['**/*.test.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [CLIENT, { group: PAGE, message: SERVICE_WORKER }] },
      ],
    },
  },
  // Sizes one reader holds in mind (issue 15): a file of at most 500 lines, tests included, and
  // a function of at most 150 in the code itself (a test file's describe callbacks are not).
  {
    files: ['server/**/*.ts', 'shared/**/*.ts', 'client/**/*.ts'],
    rules: { 'max-lines': ['error', { max: 500, skipBlankLines: false, skipComments: false }] },
  },
  {
    files: ['server/**/*.ts', 'shared/**/*.ts', 'client/**/*.ts'],
    ignores: ['**/*.test.ts', '**/*.case.ts'],
    rules: {
      'max-lines-per-function': [
        'error',
        { max: 150, skipBlankLines: false, skipComments: false, IIFEs: true },
      ],
    },
  },
  {
    files: ['**/*.test.ts', 'e2e/**'],
    plugins: { vitest },
    rules: { 'vitest/no-focused-tests': 'error', 'vitest/no-disabled-tests': 'error' },
  },
  { files: ['*.js'], ...tseslint.configs.disableTypeChecked },
  // The example web apps (examples/): plain browser scripts a reader copies, no build, no types.
  {
    files: ['examples/**/*.js'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: {
      globals: Object.fromEntries(
        [
          'document',
          'localStorage',
          'location',
          'URL',
          'URLSearchParams',
          'FormData',
          'Option',
        ].map((name) => [name, 'readonly']),
      ),
      parserOptions: { projectService: false },
    },
  },
  // Worker shims that load TypeScript through tsx: plain modules outside the TS project.
  {
    files: ['server/**/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: { parserOptions: { projectService: false } },
  },
)
