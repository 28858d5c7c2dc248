// The one list of test projects. Vitest 4 no longer reads this file by itself;
// vitest.config.ts feeds it to `test.projects`.
export const projects = ['packages/*', 'examples/*'];
