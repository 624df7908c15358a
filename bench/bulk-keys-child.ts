/**
 * Writes a benchmark store's bulk keys (bench/lib/bulk-store.ts bulkKeys) in a process of its own, so
 * the Gatehouse under measurement never holds the million inserts' heap and malloc high-water marks,
 * nor the hot keys' secrets: those go to a file (mode 0600) the load generator's side reads.
 * Reads one JSON object on stdin (the pepper is a secret: not in argv, which `ps` shows):
 * { path, templateKeyId, pepper (as GATEHOUSE_PEPPER holds it), count, keep, secretsFile }.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { createPepper } from '../src/domain/key-hash.ts';
import { bulkKeys } from './lib/bulk-store.ts';

interface Job {
  path: string;
  templateKeyId: string;
  pepper: string;
  count: number;
  keep: number;
  secretsFile: string;
}

const job = JSON.parse(readFileSync(0, 'utf8')) as Job;
const secrets = bulkKeys(job.path, job.templateKeyId, createPepper(Buffer.from(job.pepper)), job.count, job.keep);
writeFileSync(job.secretsFile, secrets.map((s) => `${s}\n`).join(''), { mode: 0o600, flag: 'a' });
