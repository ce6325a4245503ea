// Summarises a V8 .cpuprofile (node --cpu-prof): self time by function and by package, and the
// inclusive time of the frames whose name matches a filter. Used for live/bench/PROFILE.md.
//
//   npx tsx live/bench/profile-summary.ts FILE.cpuprofile [--top 40] [--match regex] [--after regex]
// --after: count only samples from the first one whose stack has a frame matching the regex (e.g.
// `parserOnIncoming`: the first HTTP request, so start-up and module loading are left out).
// Percentages are of busy time (idle excluded); the idle share is printed first.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

interface Frame { functionName: string; url: string; lineNumber: number }
interface Node { id: number; callFrame: Frame; children?: number[] }
interface Profile { nodes: Node[]; samples: number[]; timeDeltas: number[] }

const { values, positionals } = parseArgs({ allowPositionals: true, options: { top: { type: 'string', default: '40' }, match: { type: 'string' }, after: { type: 'string' } } });
const prof = JSON.parse(readFileSync(positionals[0]!, 'utf8')) as Profile;
const byId = new Map(prof.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const label0 = (f: Frame) => `${f.functionName} ${f.url}`;
const stackMatches = (id: number, re: RegExp): boolean => {
  for (let n: number | undefined = id; n !== undefined; n = parent.get(n)) if (re.test(label0(byId.get(n)!.callFrame))) return true;
  return false;
};
let first = 0;
if (values.after !== undefined) {
  const re = new RegExp(values.after);
  while (first < prof.samples.length && !stackMatches(prof.samples[first]!, re)) first++;
}
const selfUs = new Map<number, number>();
let idleUs = 0;
for (let i = first; i < prof.samples.length; i++) {
  const id = prof.samples[i]!;
  const us = prof.timeDeltas[i + 1] ?? 0; // V8: timeDeltas[i] is the gap before sample i, so sample i lasts timeDeltas[i + 1]
  if (byId.get(id)!.callFrame.functionName === '(idle)') idleUs += us;
  else selfUs.set(id, (selfUs.get(id) ?? 0) + us);
}
let total = 0;
for (const v of selfUs.values()) total += v;

const pkgOf = (url: string): string => {
  if (url === '') return '(native/vm)';
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (m !== null) return m[1]!;
  if (url.startsWith('node:')) return url;
  const p = /\/(core|live|sim)\/(.*)$/.exec(url);
  return p !== null ? `${p[1]}/${p[2]}` : url;
};
const label = (f: Frame) => `${f.functionName || '(anonymous)'} ${pkgOf(f.url)}:${f.lineNumber + 1}`;
const agg = (key: (f: Frame) => string) => {
  const m = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const k = key(byId.get(id)!.callFrame);
    m.set(k, (m.get(k) ?? 0) + us);
  }
  return [...m].sort((a, b) => b[1] - a[1]);
};
const pct = (us: number) => `${((100 * us) / total).toFixed(1).padStart(5)} %`;
const top = Number(values.top);
console.log(`busy ${(total / 1e6).toFixed(2)} s, idle ${(idleUs / 1e6).toFixed(2)} s (${((100 * idleUs) / (idleUs + total)).toFixed(1)} % idle); percentages below are of busy time`);
console.log('\nself time by package/file:');
for (const [k, us] of agg((f) => pkgOf(f.url)).slice(0, top)) console.log(`${pct(us)}  ${k}`);
console.log('\nself time by function:');
for (const [k, us] of agg(label).slice(0, top)) console.log(`${pct(us)}  ${k}`);
if (values.match !== undefined) {
  // Inclusive: a sample counts once for each distinct matching frame on its stack.
  const re = new RegExp(values.match);
  const incl = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const seen = new Set<string>();
    for (let n: number | undefined = id; n !== undefined; n = parent.get(n)) {
      const l = label(byId.get(n)!.callFrame);
      if (re.test(l) && !seen.has(l)) {
        seen.add(l);
        incl.set(l, (incl.get(l) ?? 0) + us);
      }
    }
  }
  console.log(`\ninclusive time of frames matching /${values.match}/:`);
  for (const [k, us] of [...incl].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${pct(us)}  ${k}`);
}
