// Typed lint. Keeps the folder boundaries of the brief: shared/ imports neither side,
// server/ and client/ never import each other.
import js from '@eslint/js'
import tseslint from 'typescript-eslint'
import importX from 'eslint-plugin-import-x'
import vitest from '@vitest/eslint-plugin'

const boundary = (message, ...groups) => ({
  'no-restricted-imports': ['error', { patterns: [{ group: groups, message }] }],
})

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
    files: ['**/*.test.ts', 'e2e/**'],
    plugins: { vitest },
    rules: { 'vitest/no-focused-tests': 'error', 'vitest/no-disabled-tests': 'error' },
  },
  { files: ['*.js'], ...tseslint.configs.disableTypeChecked },
  // Worker shims that load TypeScript through tsx: plain modules outside the TS project.
  {
    files: ['server/**/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: { parserOptions: { projectService: false } },
  },
)
