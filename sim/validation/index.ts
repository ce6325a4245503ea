// Public API of the validation models.
export { erlangCWaitMs, simulateFifoQueue, type FifoQueueConfig, type FifoQueueResult } from './fifo-queue.js';
