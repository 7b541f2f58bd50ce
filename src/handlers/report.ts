// Completion report per work order in R2: `reports/<workOrderId>.html` and `.json`.
// Writing the same report twice yields the same objects, so a retry is harmless, and so is a write
// that lands after its deadline gave up on it.

import { done, type EventHandler, skipped } from "../contract/handler";
import type { WorkOrderSnapshot } from "../events/work-order";
import { withDeadline } from "../lib/deadline";
import { TransientError } from "../lib/outbound";
import { reportKey } from "../store/keys";

interface CompletionReport {
  workOrderId: string;
  title: string | null;
  priority: string | null;
  status: string;
  completedAt: string;
  eventId: string;
  generatedAt: string;
  workOrder: Record<string, unknown>;
}

function buildReport(wo: WorkOrderSnapshot, eventId: string, occurredAt: string | undefined): CompletionReport {
  return {
    workOrderId: wo.id,
    title: wo.title ?? null,
    priority: wo.priority ?? null,
    status: wo.status ?? "DONE",
    completedAt: wo.completedAt ?? occurredAt ?? new Date().toISOString(),
    eventId,
    generatedAt: new Date().toISOString(),
    workOrder: wo.fields,
  };
}

const escapeHtml = (text: string): string => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function renderReportHtml(report: CompletionReport): string {
  const rows: Array<[string, string]> = [
    ["Work order", report.workOrderId],
    ["Title", report.title ?? "(untitled)"],
    ["Priority", report.priority ?? "—"],
    ["Status", report.status],
    ["Completed at", report.completedAt],
    ["Event", report.eventId],
    ["Generated at", report.generatedAt],
  ];
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Completion report: work order ${escapeHtml(report.workOrderId)}</title></head>
<body>
<h1>Work order ${escapeHtml(report.workOrderId)} completed</h1>
<table>
${rows.map(([k, v]) => `<tr><th>${escapeHtml(k)}</th><td>${escapeHtml(v)}</td></tr>`).join("\n")}
</table>
<h2>Work order data</h2>
<pre>${escapeHtml(JSON.stringify(report.workOrder, null, 2))}</pre>
</body></html>
`;
}

export const completionReport: EventHandler = {
  name: "completion-report",
  async run(ctx) {
    const wo = await ctx.workOrder(["title"]);
    if (!wo) return skipped("event names no work order");
    const report = buildReport(wo, ctx.effectId, ctx.event.occurredAt);
    try {
      // Under the outbound deadline: with the lookup before it, two such waits stay inside the claim's lease.
      await withDeadline(
        Promise.all([
          ctx.env.REPORTS.put(reportKey(wo.id, "json"), JSON.stringify(report, null, 2), {
            httpMetadata: { contentType: "application/json" },
          }),
          ctx.env.REPORTS.put(reportKey(wo.id, "html"), renderReportHtml(report), {
            httpMetadata: { contentType: "text/html; charset=utf-8" },
          }),
        ]),
        ctx.config.outboundTimeoutMs,
        "R2: report write",
      );
    } catch (error) {
      if (error instanceof TransientError) throw error;
      throw new TransientError("R2: report write failed");
    }
    return done(`report written for work order ${wo.id}`);
  },
};
