// Watching a NATS JetStream KV bucket from its current values on: the watch is open and every value
// already in the bucket has been handed to onEntry when the returned promise resolves (shared usage,
// shared canary decisions).
import type { KV, KvEntry, QueuedIterator } from 'nats';

export async function watchFromCurrent(kv: KV, key: string, onEntry: (e: KvEntry) => void): Promise<QueuedIterator<KvEntry>> {
  let initialized!: () => void;
  const ready = new Promise<void>((r) => (initialized = r));
  const it = await kv.watch({ key, initializedFn: () => initialized() });
  let taken = 0;
  void (async () => {
    for await (const e of it) {
      taken++;
      onEntry(e);
    }
  })().catch(() => undefined);
  await ready;
  // initializedFn may run before the loop has taken the entries already received: let it catch up
  // (getPending() would not do: it counts the sentinel nats.js queues for initializedFn).
  while (taken < it.getReceived()) await new Promise((r) => setImmediate(r));
  return it;
}
