ALTER TABLE "merchant_applications" ADD COLUMN "workflow_started_at" timestamp with time zone;--> statement-breakpoint
CREATE INDEX "merchant_applications_unstarted" ON "merchant_applications" USING btree ("created_at") WHERE workflow_started_at is null;--> statement-breakpoint
-- Cases opened before this migration had their workflow started before the API answered.
UPDATE "merchant_applications" SET "workflow_started_at" = "created_at" WHERE "workflow_started_at" IS NULL;
