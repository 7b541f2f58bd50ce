// The names and limits of the event listing and the bulk replay (docs/console.md): statuses,
// canonical types, subject kinds, filters and `limit`. The validator (event-query.ts) takes them
// from here, the command line imports them, and the console reads them from
// `GET /admin/vocabulary`, so none of them offers a name the Worker does not have. Nothing here
// needs D1 or the Workers runtime: the command line imports this file under Node.

import { EVENT_TYPES } from "../events/event-types";
import { SUBJECT_KINDS } from "../events/maintainx-types";
import { EVENT_STATUSES } from "../store/event-status";

/** The filters, in the order the messages name them and a cursor hashes them. */
export const FILTER_NAMES = ["status", "type", "workOrderId", "subject", "since", "until"] as const;
export type FilterName = (typeof FILTER_NAMES)[number];

/** The most events one page lists, and one bulk replay replays (its subrequests fit 1,000 events). */
export const MAX_LIMIT = 1000;
/** Events per page when the listing is given no `limit`. */
export const LIST_DEFAULT_LIMIT = 50;
/** Events a bulk replay takes when its body gives no `limit`. */
export const REPLAY_DEFAULT_LIMIT = 100;

/** The longest reason a hold takes (`POST /admin/handlers/:name/hold`), in characters. */
export const MAX_HOLD_REASON_CHARS = 200;

/** `GET /admin/vocabulary`'s answer. */
export const VOCABULARY = {
  statuses: EVENT_STATUSES,
  types: EVENT_TYPES,
  subjectKinds: SUBJECT_KINDS,
  filters: FILTER_NAMES,
  limits: {
    list: { default: LIST_DEFAULT_LIMIT, max: MAX_LIMIT },
    replay: { default: REPLAY_DEFAULT_LIMIT, max: MAX_LIMIT },
  },
} as const;
