// Every event type MaintainX delivers (the `x-webhooks` of its OpenAPI description, 46 types),
// with its canonical name and the payload field that names its subject (docs/events.md).

interface MaintainXTypeInfo {
  /** The canonical type the event travels as. */
  canonical: string;
  /** The subject's kind and the payload field holding its id; undefined when the payload names none. */
  subject?: { kind: string; field: string };
}

const workOrder = (canonical: string): MaintainXTypeInfo => ({
  canonical,
  subject: { kind: "workorder", field: "workOrderId" },
});
const named = (canonical: string, kind: string, field: string): MaintainXTypeInfo => ({
  canonical,
  subject: { kind, field },
});

/** The account and security types: no subject, canonical name `audit.<type in lower case>`. */
const AUDIT_TYPES = [
  "API_TOKEN_CREATED",
  "API_TOKEN_REVOKED",
  "CONNECTOR_TOKEN_REVOKED",
  "DATA_EXPORT_INITIATED",
  "INVITE_LINK_ARCHIVED",
  "INVITE_LINK_CREATED",
  "INVITE_LINK_UPDATED",
  "NEW_SLASH_COMMAND",
  "ROLE_ARCHIVED",
  "ROLE_CREATED",
  "ROLE_UPDATED",
  "SSO_CONFIG_CHANGED",
  "USER_ACTIVATED",
  "USER_INVITED",
  "USER_LOGIN_FAILURE",
  "USER_LOGIN_SUCCESS",
  "USER_LOGOUT",
  "USER_PERMISSIONS_CHANGED",
  "USER_REMOVED",
  "USER_ROLE_CHANGED",
  "USER_SESSION_REVOKED",
  "WEBHOOK_ARCHIVED",
  "WEBHOOK_CREATED",
] as const;

const TYPES: Readonly<Record<string, MaintainXTypeInfo>> = {
  NEW_WORK_ORDER: workOrder("workorder.created"),
  WORK_ORDER_CHANGE: workOrder("workorder.updated"),
  WORK_ORDER_STATUS_CHANGE: workOrder("workorder.status_changed"),
  WORK_ORDER_DELETE: workOrder("workorder.deleted"),
  WORK_ORDER_OVERDUE: workOrder("workorder.overdue"),
  NEW_COMMENT_ON_WORK_ORDER: workOrder("workorder.comment_added"),
  NEW_CATEGORY_ON_WORK_ORDER: workOrder("workorder.category_added"),
  WORK_ORDER_PART_STATUS_CHANGE: workOrder("workorder.part_status_changed"),
  // MaintainX names the id differently in these two.
  NEW_WORK_REQUEST: named("workrequest.created", "workrequest", "workRequestId"),
  WORK_REQUEST_STATUS_CHANGE: named("workrequest.status_changed", "workrequest", "requestId"),
  NEW_ASSET: named("asset.created", "asset", "assetId"),
  ASSET_STATUS_CHANGE: named("asset.status_changed", "asset", "assetId"),
  NEW_PART: named("part.created", "part", "partId"),
  PART_CHANGE: named("part.updated", "part", "partId"),
  PART_DELETE: named("part.deleted", "part", "partId"),
  PART_QUANTITY_CHANGE: named("part.quantity_changed", "part", "partId"),
  // No orgId and no single subject; `triggeredAt` instead of `occurredAt`.
  PART_TRANSFER: { canonical: "part.transferred" },
  NEW_PURCHASE_ORDER: named("purchaseorder.created", "purchaseorder", "purchaseOrderId"),
  PURCHASE_ORDER_CHANGE: named("purchaseorder.updated", "purchaseorder", "purchaseOrderId"),
  PURCHASE_ORDER_STATUS_CHANGE: named("purchaseorder.status_changed", "purchaseorder", "purchaseOrderId"),
  NEW_LOCATION: named("location.created", "location", "locationId"),
  NEW_VENDOR: named("vendor.created", "vendor", "vendorId"),
  METER_TRIGGER_STATE_CHANGE: named("meter.trigger_state_changed", "meter", "meterId"),
  ...Object.fromEntries(AUDIT_TYPES.map((type) => [type, { canonical: `audit.${type.toLowerCase()}` }])),
};

/** Every kind of subject an event can name (`<kind>:<id>` in the event log), in alphabetical order. */
export const SUBJECT_KINDS: readonly string[] = [
  ...new Set(["workorder", ...Object.values(TYPES).flatMap((info) => (info.subject ? [info.subject.kind] : []))]),
].sort();

/** The canonical names of the 46 types, in alphabetical order. */
export const CANONICAL_TYPES: readonly string[] = [
  ...new Set(Object.values(TYPES).map((info) => info.canonical)),
].sort();

/** The 46 MaintainX event types, in alphabetical order. */
export const MAINTAINX_EVENT_TYPES: readonly string[] = Object.keys(TYPES).sort();

export function maintainXType(type: string): MaintainXTypeInfo | undefined {
  return Object.hasOwn(TYPES, type) ? TYPES[type] : undefined;
}

/** The known type closest to a misspelt one (edit distance), for "did you mean" messages. */
export function closestMaintainXType(type: string): string {
  const wanted = type.toUpperCase();
  let best = MAINTAINX_EVENT_TYPES[0] as string;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const known of MAINTAINX_EVENT_TYPES) {
    const distance = editDistance(wanted, known);
    if (distance < bestDistance) {
      best = known;
      bestDistance = distance;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current[j] = Math.min((previous[j] as number) + 1, (current[j - 1] as number) + 1, substitution);
    }
    previous = current;
  }
  return previous[b.length] as number;
}
