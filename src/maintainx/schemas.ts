// Schemas for the MaintainX REST answers this Worker reads: `GET /workorders`, `GET /workorders/{id}`,
// `GET /assets/{id}` and `GET /purchaseorders/{id}`.
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

const AssetSchema = z.object({ id, name: z.string().nullish() }).passthrough();
export type Asset = z.infer<typeof AssetSchema>;
export const GetAssetAnswer = z.object({ asset: AssetSchema });

const PurchaseOrderSchema = z.object({ id, status: z.string().nullish() }).passthrough();
export type PurchaseOrder = z.infer<typeof PurchaseOrderSchema>;
export const GetPurchaseOrderAnswer = z.object({ purchaseOrder: PurchaseOrderSchema });
