// Event-heap micro-benchmark (issue 21): the simulator's pattern, 250 pending events, 5 M pops each
// followed by one push. 100 "workers" re-push at now + 10–20 ms (their next step); 150 other events
// sit 1–2 s out. Prints cpu seconds and a checksum (equal across heap layouts: the pop order is a
// total order). `--calendar` runs the loop's calendar queue (calendar.ts) instead of EventHeap.
// Not a test. Run bundled, as PERF.md does:
//   npx esbuild sim/bench/heap.bench.ts --bundle --platform=node --format=esm --outfile=/tmp/hb.mjs && node /tmp/hb.mjs
import { EventCalendar } from '../engine/calendar.js';
import { EventHeap, type EventView } from '../engine/heap.js';

let x = 12345;
const rnd = (): number => {
  x = (x * 1103515245 + 12345) & 0x7fffffff;
  return x / 0x7fffffff;
};
const calendar = process.argv.includes('--calendar');
const h = calendar ? new EventCalendar(1024) : new EventHeap(1024);
const v: EventView = { timeMs: 0, phase: 0, seq: 0, kind: 0, target: 0, num: 0, payload: undefined };
for (let i = 0; i < 100; i++) h.push(rnd() * 15, 0, 0, i, 0, undefined);
for (let i = 0; i < 150; i++) h.push(1000 + rnd() * 1000, 4, 1, i, 0, undefined);
const c0 = process.cpuUsage();
let sum = 0;
for (let k = 0; k < 5_000_000; k++) {
  if (h instanceof EventHeap) h.takeRootInto(v);
  else h.popInto(v);
  sum += v.target;
  if (v.kind === 0) h.push(v.timeMs + 10 + rnd() * 10, 0, 0, v.target, 0, undefined);
  else h.push(v.timeMs + 1000 + rnd() * 1000, 4, 1, v.target, 0, undefined);
  if (h instanceof EventHeap) h.releaseRoot();
}
const c = process.cpuUsage(c0);
console.log(`${calendar ? 'calendar' : 'heap'}: cpu ${((c.user + c.system) / 1e6).toFixed(3)} s, checksum ${sum}`);
