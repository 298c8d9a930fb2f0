/**
 * What the server tells a client when it ends a subscription or a connection (protocol/SPEC.md,
 * "Client-facing codes"). A client branches on these, so they live here, beside the other
 * contracts, not in the server module that happens to raise them.
 */

/** `extensions.code` of a GraphQL error that ends a subscription. */
export const CLIENT_ERRORS = {
  /**
   * The client read too slowly: points (or events) waited too long. `extensions.resumeAfter`
   * (batches only) is the stream ID to resubscribe after, with no gap and no duplicate.
   */
  SLOW_CONSUMER: "SLOW_CONSUMER",
  /** Redis restarted without the data the client was shown: reload, do not resume. */
  REDIS_RESET: "REDIS_RESET",
} as const;
export type ClientErrorCode = (typeof CLIENT_ERRORS)[keyof typeof CLIENT_ERRORS];

/**
 * WebSocket close codes of our own (4000-4999 are for applications; graphql-ws uses 44xx for its
 * protocol errors: 4400 bad message, 4401 unauthorized, 4408 init timeout, 4409 duplicate id...).
 */
export const CLOSE_CODES = {
  /** A batches subscriber stalled: reason `SLOW_CONSUMER: resume after <stream id>`. */
  SLOW_CONSUMER: 4499,
} as const;

/** The close reason of a socket closed for a slow consumer. */
export function slowConsumerReason(resumeAfter: string): string {
  return `${CLIENT_ERRORS.SLOW_CONSUMER}: resume after ${resumeAfter}`;
}
