// The canonical types an event can be logged as: the one list that the admin API's vocabulary,
// the console's type filter and the command line offer (docs/events.md, "Event types").

import { CANONICAL_TYPES } from "./maintainx-types";
import { ENDING_TYPE } from "./work-order";

/**
 * The canonical names of MaintainX's 46 types, and the endings the poller logs as events of their
 * own (`workorder.completed`, `.canceled`, `.skipped`), in alphabetical order. A list to choose
 * from, not a check: a seed delivery's dotted name and a type MaintainX never documented are
 * logged as they came, so the listing's type filter takes any well-formed name.
 */
export const EVENT_TYPES: readonly string[] = [...new Set([...CANONICAL_TYPES, ...Object.values(ENDING_TYPE)])].sort();
