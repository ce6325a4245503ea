// mlx_lm.server as a user runs it (mlx-lm 0.32.2, `mlx_lm.server --model M`), the simulator's
// direct-engine baseline. Each figure is the server's default, read from its source:
//   mlx_lm/server.py, argparse: --decode-concurrency 32, --prompt-concurrency 8,
//   --prefill-step-size 2048, --prompt-cache-size 10 ("Maximum number of distinct KV caches to hold
//   in the prompt cache"); the batch loop passes them to BatchGenerator(completion_batch_size=
//   decode_concurrency, prefill_batch_size=prompt_concurrency, prefill_step_size=prefill_step_size).
//   mlx_lm/generate.py, BatchGenerator._next: one decode step of the generation batch, an early
//   return when it holds completion_batch_size sequences, then one chunk of ≤ prefill_step_size
//   tokens for each sequence of the prompt batch; a prompt's last token moves to a GenerationBatch
//   whose constructor runs a forward pass of its own (`if self.uids: self._step()`).
// The simulated worker's default loop (worker.ts without a planner) follows _next; these constants
// set its sizes. The prompt cache is an LRU of 10 KV caches keyed by token prefix
// (models/cache.py LRUPromptCache); the simulator keys it by session, one entry per conversation.
export const MLX_LM_SERVER = {
  decodeConcurrency: 32,
  promptConcurrency: 8,
  prefillStepTokens: 2048,
  promptCacheEntries: 10,
} as const;
