// Sums vitest JSON reports into CI's closing line: "N passed, M failed".
// Failed tests are named above that line, so a CI log that keeps only its tail still says what failed.
import { existsSync, readFileSync } from 'node:fs';

let passed = 0;
let failed = 0;
const failures = [];
for (const file of process.argv.slice(2)) {
  if (!existsSync(file)) {
    console.error(`ci-summary: ${file} is missing (the test run did not finish); counted as one failure`);
    failed += 1;
    continue;
  }
  const report = JSON.parse(readFileSync(file, 'utf8'));
  passed += report.numPassedTests;
  failed += report.numFailedTests;
  for (const suite of report.testResults ?? []) {
    const where = `${file}: ${suite.name.replace(process.cwd(), '.')}`;
    const results = suite.assertionResults ?? [];
    for (const r of results) {
      if (r.status === 'failed') failures.push(`${where} > ${r.fullName}\n    ${firstLines(r.failureMessages)}`);
    }
    if (suite.status !== 'failed') continue;
    // A suite that fails to load has no tests in it, so count it, or a broken file would pass silently.
    // A suite whose hook failed reports its tests as skipped: count those as failed too.
    if (results.length === 0) failed += 1;
    else if (!results.some((r) => r.status === 'failed'))
      failed += results.filter((r) => r.status !== 'passed').length || 1;
    if (!results.some((r) => r.status === 'failed'))
      failures.push(`${where} (suite)\n    ${firstLines([suite.message])}`);
  }
}
for (const f of failures) console.log(`FAILED ${f}`);
console.log(`${passed} passed, ${failed} failed`);

function firstLines(messages) {
  const text = (messages ?? []).filter(Boolean).join('\n');
  return text.split('\n').slice(0, 6).join('\n    ').slice(0, 1500);
}
