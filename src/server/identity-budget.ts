/**
 * The bound on distinct file identities one host may write in one UTC day (`--max-files-per-
 * host-day`, docs/api.md "Bounds"): past it, the groups of identities not yet seen that day
 * are refused in `rejected` with HOST_FILE_LIMIT and the rest of the request is stored. It
 * keeps one writer from filling a host's file list (and the store) with file entries.
 *
 * Counted in memory, per Daniel process: what it holds is at most the bound's worth of ids
 * per host that wrote today, and it starts again at 00:00 UTC and at a restart.
 */
const DAY_MS = 86_400_000;

export class IdentityBudget {
  private day = -1;
  private readonly seen = new Map<string, Set<string>>();

  constructor(
    /** Identities per host per UTC day; may be changed while running (SIGHUP). */
    public limit: number,
    private readonly nowMs: () => number = Date.now,
  ) {}

  /**
   * Counts the identities of one request, in order, and returns those past the bound (none
   * of them counted). An identity already written today is always admitted.
   */
  admit(host: string, fileIds: Iterable<string>): Set<string> {
    const day = Math.floor(this.nowMs() / DAY_MS);
    if (day !== this.day) {
      this.day = day;
      this.seen.clear();
    }
    let ids = this.seen.get(host);
    const refused = new Set<string>();
    for (const id of fileIds) {
      if (ids?.has(id) === true) continue;
      if ((ids?.size ?? 0) >= this.limit) {
        refused.add(id);
        continue;
      }
      if (ids === undefined) {
        ids = new Set();
        this.seen.set(host, ids);
      }
      ids.add(id);
    }
    return refused;
  }
}
