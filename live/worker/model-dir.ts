// A model directory's identity for the registry and Models: a content fingerprint (config.json's bytes,
// the weight and tokenizer files' sizes and mtimes) and its size, without reading the weights.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** Version and size of a model directory without reading the weights. */
export function fingerprintModelDir(dir: string): { version: string; bytes: number } {
  const h = createHash('sha256');
  h.update(readFileSync(join(dir, 'config.json')));
  let bytes = 0;
  for (const name of readdirSync(dir).sort()) {
    const st = statSync(join(dir, name));
    if (!st.isFile()) continue;
    bytes += st.size;
    if (name.endsWith('.safetensors') || name.startsWith('tokenizer')) h.update(`${name}:${st.size}:${Math.floor(st.mtimeMs)}\n`);
  }
  return { version: h.digest('hex').slice(0, 12), bytes };
}
