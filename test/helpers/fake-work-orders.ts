// A fake of MaintainX's `GET /workorders` for pool tests: honours updatedAt[gte] (unless told to
// ignore it, like older API versions), sort=updatedAt, limit and an opaque `cursor`.

export interface FakeWorkOrder {
  id: number;
  title: string;
  status: string;
  priority: string;
  updatedAt: string;
  /** As REST gives them; absent unless a test sets them. */
  createdAt?: string;
  completedAt?: string;
}

export function createWorkOrderStore(options: { ignoreDateFilter?: boolean } = {}) {
  const workOrders = new Map<number, FakeWorkOrder>();
  const listCalls: URL[] = [];

  function put(wo: FakeWorkOrder): void {
    workOrders.set(wo.id, wo);
  }

  function list(url: URL): Response {
    listCalls.push(url);
    const since = url.searchParams.get("updatedAt[gte]");
    const limit = Number(url.searchParams.get("limit") ?? 100);
    const offset = Number(url.searchParams.get("cursor") ?? 0);
    let rows = [...workOrders.values()].sort((a, b) => a.updatedAt.localeCompare(b.updatedAt) || a.id - b.id);
    if (since && !options.ignoreDateFilter) rows = rows.filter((wo) => wo.updatedAt >= since);
    const page = rows.slice(offset, offset + limit);
    const next = offset + limit < rows.length ? String(offset + limit) : null;
    return Response.json({ workOrders: page, nextCursor: next, nextPageUrl: null });
  }

  return { workOrders, listCalls, put, list };
}

/** `count` work orders updated at distinct-or-shared instants from `start`, `step` ms apart. */
export function seedWorkOrders(
  store: ReturnType<typeof createWorkOrderStore>,
  count: number,
  start: number,
  options: { firstId?: number; step?: number; sameInstantEvery?: number } = {},
): FakeWorkOrder[] {
  const out: FakeWorkOrder[] = [];
  for (let i = 0; i < count; i++) {
    const group = options.sameInstantEvery ? Math.floor(i / options.sameInstantEvery) : i;
    const wo: FakeWorkOrder = {
      id: (options.firstId ?? 1) + i,
      title: `Work order ${(options.firstId ?? 1) + i}`,
      status: "OPEN",
      priority: "LOW",
      updatedAt: new Date(start + group * (options.step ?? 1000)).toISOString(),
    };
    store.put(wo);
    out.push(wo);
  }
  return out;
}
