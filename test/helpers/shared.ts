/**
 * Where the shared fixtures are: Kafka's message specs and the real-client wire captures. CI clones the repository
 * next to a copy of shared/; BERTH_SHARED_DIR points elsewhere. A checkout without them (a user's machine) skips
 * the suites that need them, while CI (CI=true) fails loudly instead of skipping.
 */
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

export const sharedDir = resolve(process.env.BERTH_SHARED_DIR ?? resolve(repoRoot, '../shared'));

/** True when the suites that read shared/ must run: the fixtures are there, or CI demands them. */
export const sharedAvailable = existsSync(sharedDir) || process.env.CI === 'true';
