/** Orders Redis stream IDs (`ms-seq`, or a bare `ms`): the server's readers and the chart's live batches both resume by them. */
export function compareStreamIds(a: string, b: string): number {
  const [am, as = "0"] = a.split("-");
  const [bm, bs = "0"] = b.split("-");
  const d = BigInt(am) - BigInt(bm) || BigInt(as) - BigInt(bs);
  return d < 0n ? -1 : d > 0n ? 1 : 0;
}

/** The greatest stream ID Redis accepts: nothing can follow it (an exclusive range after it is refused). */
export const MAX_STREAM_ID = "18446744073709551615-18446744073709551615";
