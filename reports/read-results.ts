// Reads a results.json written by writeReport (write.ts), given the file or the report folder.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { ScenarioResult } from './result.js';

/** A results.json that is missing or not one (its message names the file). */
export class ResultsFileError extends Error {}

export function readResults(path: string): ScenarioResult[] {
  const file = existsSync(path) && statSync(path).isDirectory() ? join(path, 'results.json') : path;
  if (!existsSync(file)) throw new ResultsFileError(`${file}: no such file`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new ResultsFileError(`${file}: not JSON (${(e as Error).message})`);
  }
  if (!Array.isArray(parsed)) throw new ResultsFileError(`${file}: not a results.json (an array of scenario results)`);
  return parsed as ScenarioResult[];
}
