ALTER TABLE "order_lines" ADD COLUMN "workflow_started_at" timestamp with time zone;--> statement-breakpoint
CREATE INDEX "order_lines_unstarted" ON "order_lines" USING btree ("created_at") WHERE workflow_started_at is null;--> statement-breakpoint
-- Lines placed before this migration had their provisioning started before the API answered.
UPDATE "order_lines" SET "workflow_started_at" = "created_at" WHERE "workflow_started_at" IS NULL;
