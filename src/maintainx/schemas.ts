// Schemas for the MaintainX REST answers this Worker reads (MaintainX's `GET /workorders` and `GET /workorders/{id}`).
// Unknown fields pass through: MaintainX adds fields over time.

import { z } from "zod";

const id = z.union([z.number(), z.string()]).transform((v) => String(v));

const WorkOrderSchema = z
  .object({
    id,
    title: z.string().nullish(),
    status: z.string().nullish(),
    priority: z.string().nullish(),
    updatedAt: z.string().nullish(),
    createdAt: z.string().nullish(),
    completedAt: z.string().nullish(),
    deletedAt: z.string().nullish(),
    sequentialId: z.union([z.number(), z.string()]).nullish(),
  })
  .passthrough();

export type WorkOrder = z.infer<typeof WorkOrderSchema>;

export const GetWorkOrderAnswer = z.object({ workOrder: WorkOrderSchema });

export const ListWorkOrdersAnswer = z.object({
  workOrders: z.array(WorkOrderSchema),
  nextCursor: z.string().nullish(),
});
export type WorkOrderPage = { workOrders: WorkOrder[]; nextCursor: string | null };
