import { readFileSync } from 'node:fs';
import { z } from 'zod';

/**
 * Prints the closing "N passed, N failed" line from vitest's JSON report (vitest does not print it
 * itself) and exits non-zero on any failure: a failed type check counts as one failed test, and a
 * run that produced no report counts as a failure too. Failed tests are listed, with the start of
 * their messages, just above that line: CI keeps only the tail of a run's output.
 */
const assertion = z.object({
  fullName: z.string(),
  status: z.string(),
  failureMessages: z.array(z.string()).default([]),
});
const report = z.object({
  numPassedTests: z.number(),
  numFailedTests: z.number(),
  numTotalTests: z.number(),
  testResults: z
    .array(
      z.object({
        name: z.string(),
        status: z.string().optional(),
        message: z.string().optional(),
        assertionResults: z.array(assertion).default([]),
      }),
    )
    .default([]),
});

const MESSAGE_CHARS = 600;

function failuresOf(parsed: z.infer<typeof report>): string[] {
  const lines: string[] = [];
  for (const file of parsed.testResults) {
    const failedTests = file.assertionResults.filter((test) => test.status === 'failed');
    for (const test of failedTests) {
      const message = (test.failureMessages[0] ?? '').slice(0, MESSAGE_CHARS);
      lines.push(`FAILED ${file.name} > ${test.fullName}\n  ${message.replaceAll('\n', '\n  ')}`);
    }
    // A file that failed outside any test (an import error, a failing hook).
    if (failedTests.length === 0 && file.status === 'failed') {
      lines.push(`FAILED ${file.name}\n  ${(file.message ?? '').slice(0, MESSAGE_CHARS).replaceAll('\n', '\n  ')}`);
    }
  }
  return lines;
}

// Arguments: <type check failed 0|1>, then one or more pairs <vitest JSON report> <vitest exit status>.
const [typecheckFailed = '0', ...runs] = process.argv.slice(2);
let passed = 0;
let failed = typecheckFailed === '1' ? 1 : 0;
const failures: string[] = typecheckFailed === '1' ? ['FAILED type check (see tsc output above)'] : [];
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
    failures.push(...failuresOf(parsed));
    if (parsed.numTotalTests === 0) {
      failedHere += 1;
      failures.push(`FAILED ${reportFile}: no test ran`);
    }
  } catch (error: unknown) {
    const reason = `no usable vitest report at ${reportFile}: ${error instanceof Error ? error.message : String(error)}`;
    console.error(reason);
    failures.push(`FAILED ${reason}`);
    failedHere += 1;
  }
  // vitest failed without a failed test (a crashed worker, an unhandled error): still a failure.
  if (vitestStatus !== '0' && failedHere === 0) {
    failedHere = 1;
    failures.push(`FAILED ${reportFile}: vitest exited ${vitestStatus} without a failed test (an unhandled error or a crashed worker; see above)`);
  }
  failed += failedHere;
}
if (failures.length > 0) console.log(failures.join('\n'));
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed > 0 ? 1 : 0);
