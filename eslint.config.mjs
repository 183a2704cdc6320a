// ESLint for the sidebar's plain-JavaScript sources (labextension/); run by pre-commit and `npm run lint`.
import js from '@eslint/js';
import globals from 'globals';

export default [
  { ignores: ['extension/**', 'node_modules/**', '.venv/**', 'labextension/lib/**'] },
  {
    files: ['labextension/**/*.js', 'labextension/**/*.mjs'],
    ...js.configs.recommended,
    languageOptions: { ecmaVersion: 2023, sourceType: 'module', globals: { ...globals.browser } }
  },
  {
    files: ['labextension/test/**'],
    languageOptions: { globals: { ...globals.node } }
  }
];
