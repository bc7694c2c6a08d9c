// Sums vitest JSON reports into CI's closing line: "N passed, M failed".
import { existsSync, readFileSync } from 'node:fs';

let passed = 0;
let failed = 0;
for (const file of process.argv.slice(2)) {
  if (!existsSync(file)) {
    console.error(`ci-summary: ${file} is missing (the test run did not finish); counted as one failure`);
    failed += 1;
    continue;
  }
  const report = JSON.parse(readFileSync(file, 'utf8'));
  passed += report.numPassedTests;
  failed += report.numFailedTests;
  // A suite that fails to load has no tests in it, so count it, or a broken file would pass silently.
  // A suite whose hook failed reports its tests as skipped: count those as failed too.
  for (const suite of report.testResults ?? []) {
    if (suite.status !== 'failed') continue;
    const results = suite.assertionResults ?? [];
    if (results.length === 0) failed += 1;
    else if (!results.some((r) => r.status === 'failed'))
      failed += results.filter((r) => r.status !== 'passed').length || 1;
  }
}
console.log(`${passed} passed, ${failed} failed`);
