import { readFileSync } from 'node:fs';
import { z } from 'zod';

/**
 * Prints the closing "N passed, N failed" line from vitest's JSON report (vitest does not print it
 * itself) and exits non-zero on any failure: a failed type check counts as one failed test, and a
 * run that produced no report counts as a failure too.
 */
const report = z.object({ numPassedTests: z.number(), numFailedTests: z.number(), numTotalTests: z.number() });

const [reportFile = 'test-results/vitest.json', typecheckFailed = '0', vitestStatus = '0'] = process.argv.slice(2);
let passed = 0;
let failed = typecheckFailed === '1' ? 1 : 0;
try {
  const parsed = report.parse(JSON.parse(readFileSync(reportFile, 'utf8')));
  passed = parsed.numPassedTests;
  failed += parsed.numFailedTests;
  if (parsed.numTotalTests === 0) failed += 1;
} catch (error: unknown) {
  console.error(`no usable vitest report at ${reportFile}: ${error instanceof Error ? error.message : String(error)}`);
  failed += 1;
}
if (vitestStatus !== '0' && failed === 0) failed = 1;
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed > 0 ? 1 : 0);
