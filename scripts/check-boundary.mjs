// Proves the adapter boundary lint rule bites: adapters may import only
// @dl/core's public entry (and @dl/testkit in tests), exactly what a third party can.
import { ESLint } from 'eslint';

const eslint = new ESLint();
const cases = [
  ['packages/http/src/x.ts', "import { Limiter } from '@dl/core/src/runtime/limiter.js';", true],
  ['packages/ftp/src/x.ts', "import { x } from '../../core/src/index.js';", true],
  ['packages/sftp/src/x.ts', "import { startSshd } from '@dl/testkit';", true],
  ['packages/mirrorlist/src/x.ts', "import { http } from '@dl/http';", true],
  ['examples/data-adapter/src/x.ts', "import { x } from '@dl/cli';", true],
  ['packages/sftp/src/x.test.ts', "import { startSshd } from '@dl/testkit';", false],
  ['packages/http/src/x.ts', "import { DownloadError } from '@dl/core';", false],
  ['packages/mirrorlist/src/x.test.ts', "import { http } from '@dl/http';", false],
];
let wrong = 0;
for (const [file, code, shouldFail] of cases) {
  const [result] = await eslint.lintText(`${code}\nexport const y = 1;\n`, { filePath: file });
  const flagged = result.messages.some((m) => m.ruleId === 'no-restricted-imports');
  if (flagged !== shouldFail) {
    wrong++;
    console.error(
      `boundary rule: ${file}: "${code}" ${shouldFail ? 'was not flagged' : 'was flagged'}`,
    );
  }
}
console.log(`boundary rule: ${cases.length - wrong} of ${cases.length} cases as expected`);
process.exit(wrong ? 1 : 0);
