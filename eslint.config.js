import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

const adapterPackages = ['http', 'ftp', 'sftp', 'mirrorlist', 'bullmq'].map(
  (p) => `packages/${p}/src/**/*.ts`,
);
const relativeEscape = {
  group: ['../../*', '**/packages/*/src/**', '**/core/src/**'],
  message: 'Import other packages by name, through their public entry only.',
};
const deepCore = {
  group: ['@dl/core/*'],
  message: 'Only the public entry of @dl/core may be imported (what a third party can import).',
};

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', 'docs/api/**', '**/coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  { languageOptions: { globals: { ...globals.node } } },
  {
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
      'no-restricted-syntax': [
        'error',
        { selector: 'ExportDefaultDeclaration', message: 'No default exports in package code.' },
      ],
    },
  },
  {
    // CommonJS on purpose: these check what require() callers see.
    files: ['**/*.cjs'],
    languageOptions: { sourceType: 'commonjs' },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    // Config files are the tools' own format and need default exports.
    files: [
      '*.config.ts',
      '*.config.js',
      '**/vitest.config.ts',
      '**/tsup.config.ts',
      'eslint.config.js',
    ],
    rules: { 'no-restricted-syntax': 'off' },
  },
  {
    // Boundary: adapters see exactly what a third party sees.
    files: [...adapterPackages, 'examples/*/src/**/*.ts'],
    ignores: ['**/*.test.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            deepCore,
            relativeEscape,
            { group: ['@dl/*', '!@dl/core'], message: 'Adapters may import only @dl/core.' },
          ],
        },
      ],
    },
  },
  {
    // Mirror sets and fleets are tested across real protocols: these tests use the other adapters too.
    files: ['packages/mirrorlist/src/**/*.test.ts', 'packages/bullmq/src/**/*.test.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            deepCore,
            relativeEscape,
            {
              group: ['@dl/*', '!@dl/core', '!@dl/testkit', '!@dl/http', '!@dl/ftp', '!@dl/sftp'],
              message:
                'Mirror-list tests may import only @dl/core, @dl/testkit and the protocol adapters.',
            },
          ],
        },
      ],
    },
  },
  {
    files: [
      ...adapterPackages
        .filter((g) => !g.includes('mirrorlist') && !g.includes('bullmq'))
        .map((g) => g.replace('*.ts', '*.test.ts')),
      'examples/*/src/**/*.test.ts',
    ],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            deepCore,
            relativeEscape,
            {
              group: ['@dl/*', '!@dl/core', '!@dl/testkit'],
              message: 'Adapter tests may import only @dl/core and @dl/testkit.',
            },
          ],
        },
      ],
    },
  },
);
