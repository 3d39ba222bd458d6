/**
 * The infra files in dependency order. The storage, queues, API and realtime resources arrive
 * with the pipeline and realtime issues; each file exports what the others link to.
 */
export const outputs: Record<string, string> = {};
