/** The live tail's event-stream parser is the protocol's own, shared with the CLI and the canary. */
export { SseParser, type SseEvent } from '../src/protocol/sse.js';
