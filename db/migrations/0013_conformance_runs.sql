CREATE TABLE "conformance_runs" (
	"id" text PRIMARY KEY NOT NULL,
	"product_id" text NOT NULL,
	"merchant_id" text NOT NULL,
	"requested_by" text NOT NULL,
	"status" text NOT NULL,
	"options" jsonb NOT NULL,
	"report" jsonb,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"workflow_started_at" timestamp with time zone,
	"finished_at" timestamp with time zone
);
--> statement-breakpoint
ALTER TABLE "products" ADD COLUMN "conformance_run_id" text;--> statement-breakpoint
ALTER TABLE "products" ADD COLUMN "conformance_passed_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "conformance_runs" ADD CONSTRAINT "conformance_runs_product_id_products_id_fk" FOREIGN KEY ("product_id") REFERENCES "public"."products"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "conformance_runs" ADD CONSTRAINT "conformance_runs_merchant_id_merchants_id_fk" FOREIGN KEY ("merchant_id") REFERENCES "public"."merchants"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "conformance_runs" ADD CONSTRAINT "conformance_runs_requested_by_principals_id_fk" FOREIGN KEY ("requested_by") REFERENCES "public"."principals"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "conformance_runs_one_running" ON "conformance_runs" USING btree ("product_id") WHERE status = 'running';--> statement-breakpoint
CREATE INDEX "conformance_runs_product" ON "conformance_runs" USING btree ("product_id","created_at");--> statement-breakpoint
CREATE INDEX "conformance_runs_unstarted" ON "conformance_runs" USING btree ("created_at") WHERE workflow_started_at is null;