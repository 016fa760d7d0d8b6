CREATE TABLE "product_application_revisions" (
	"id" text PRIMARY KEY NOT NULL,
	"application_id" text NOT NULL,
	"payload" jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "product_applications" (
	"id" text PRIMARY KEY NOT NULL,
	"merchant_id" text NOT NULL,
	"applicant_principal_id" text NOT NULL,
	"image_version_id" text NOT NULL,
	"payload" jsonb NOT NULL,
	"status" text NOT NULL,
	"overdue" boolean DEFAULT false NOT NULL,
	"round" integer DEFAULT 1 NOT NULL,
	"filed_day" text NOT NULL,
	"opened_at" timestamp with time zone NOT NULL,
	"deadline" timestamp with time zone,
	"decided_at" timestamp with time zone,
	"decided_by" text,
	"reasons" jsonb,
	"product_id" text,
	"workflow_id" text NOT NULL,
	"workflow_started_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "product_review_events" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"application_id" text NOT NULL,
	"event_key" text NOT NULL,
	"type" text NOT NULL,
	"round" integer NOT NULL,
	"actor" text,
	"data" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
ALTER TABLE "products" ADD COLUMN "image_version_id" text;--> statement-breakpoint
ALTER TABLE "products" ADD COLUMN "release_application_id" text;--> statement-breakpoint
ALTER TABLE "products" ADD COLUMN "description" text;--> statement-breakpoint
ALTER TABLE "product_application_revisions" ADD CONSTRAINT "product_application_revisions_application_id_product_applications_id_fk" FOREIGN KEY ("application_id") REFERENCES "public"."product_applications"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "product_applications" ADD CONSTRAINT "product_applications_merchant_id_merchants_id_fk" FOREIGN KEY ("merchant_id") REFERENCES "public"."merchants"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "product_applications" ADD CONSTRAINT "product_applications_applicant_principal_id_principals_id_fk" FOREIGN KEY ("applicant_principal_id") REFERENCES "public"."principals"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "product_applications" ADD CONSTRAINT "product_applications_image_version_id_image_asset_versions_id_fk" FOREIGN KEY ("image_version_id") REFERENCES "public"."image_asset_versions"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "product_review_events" ADD CONSTRAINT "product_review_events_application_id_product_applications_id_fk" FOREIGN KEY ("application_id") REFERENCES "public"."product_applications"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "product_applications_filed" ON "product_applications" USING btree ("merchant_id","filed_day");--> statement-breakpoint
CREATE INDEX "product_applications_queue" ON "product_applications" USING btree ("status","deadline");--> statement-breakpoint
CREATE INDEX "product_applications_unstarted" ON "product_applications" USING btree ("created_at") WHERE workflow_started_at is null;--> statement-breakpoint
CREATE UNIQUE INDEX "product_review_events_key" ON "product_review_events" USING btree ("application_id","event_key");