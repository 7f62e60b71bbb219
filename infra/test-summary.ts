import { readFileSync } from 'node:fs';
import { z } from 'zod';

/**
 * Prints the closing "N passed, N failed" line from vitest's JSON report (vitest does not print it
 * itself) and exits non-zero on any failure: a failed type check counts as one failed test, and a
 * run that produced no report counts as a failure too.
 */
const report = z.object({ numPassedTests: z.number(), numFailedTests: z.number(), numTotalTests: z.number() });

// Arguments: <type check failed 0|1>, then one or more pairs <vitest JSON report> <vitest exit status>.
const [typecheckFailed = '0', ...runs] = process.argv.slice(2);
let passed = 0;
let failed = typecheckFailed === '1' ? 1 : 0;
if (runs.length === 0 || runs.length % 2 !== 0) {
  console.error('usage: test-summary <typecheck-failed> (<report.json> <vitest-status>)+');
  failed += 1;
}
for (let index = 0; index + 1 < runs.length; index += 2) {
  const reportFile = runs[index] ?? '';
  const vitestStatus = runs[index + 1] ?? '1';
  let failedHere = 0;
  try {
    const parsed = report.parse(JSON.parse(readFileSync(reportFile, 'utf8')));
    passed += parsed.numPassedTests;
    failedHere += parsed.numFailedTests;
    if (parsed.numTotalTests === 0) failedHere += 1;
  } catch (error: unknown) {
    console.error(`no usable vitest report at ${reportFile}: ${error instanceof Error ? error.message : String(error)}`);
    failedHere += 1;
  }
  // vitest failed without a failed test (a crashed worker, an unhandled error): still a failure.
  if (vitestStatus !== '0' && failedHere === 0) failedHere = 1;
  failed += failedHere;
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed > 0 ? 1 : 0);
