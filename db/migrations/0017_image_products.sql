CREATE TABLE "image_asset_versions" (
	"id" text PRIMARY KEY NOT NULL,
	"asset_id" text NOT NULL,
	"version" text NOT NULL,
	"status" text NOT NULL,
	"artifact_key" text NOT NULL,
	"compression" text NOT NULL,
	"size_bytes" bigint NOT NULL,
	"sha256" text NOT NULL,
	"scan_no" integer DEFAULT 1 NOT NULL,
	"findings" jsonb,
	"summary" jsonb,
	"scanned_at" timestamp with time zone,
	"flagged_at" timestamp with time zone,
	"uploaded_by" text NOT NULL,
	"workflow_id" text NOT NULL,
	"workflow_started_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "image_assets" (
	"id" text PRIMARY KEY NOT NULL,
	"merchant_id" text NOT NULL,
	"name" text NOT NULL,
	"os" text NOT NULL,
	"regions" jsonb NOT NULL,
	"security_group" jsonb NOT NULL,
	"created_by" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "malware_digests" (
	"sha256" text PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"added_by" text NOT NULL,
	"added_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
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
CREATE TABLE "scan_attempts" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"scan_key" text NOT NULL,
	"attempt" integer NOT NULL,
	"from_file_offset" bigint NOT NULL,
	"from_tar_offset" bigint NOT NULL,
	"bytes_read" bigint DEFAULT 0 NOT NULL,
	"started_at" timestamp with time zone DEFAULT now() NOT NULL,
	"finished_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "scan_checkpoints" (
	"scan_key" text PRIMARY KEY NOT NULL,
	"version_id" text NOT NULL,
	"checkpoint" jsonb NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "vulnerabilities" (
	"id" text PRIMARY KEY NOT NULL,
	"record" jsonb NOT NULL,
	"modified" text,
	"loaded_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "vulnerability_packages" (
	"vulnerability_id" text NOT NULL,
	"ecosystem" text NOT NULL,
	"name" text NOT NULL
);
--> statement-breakpoint
ALTER TABLE "products" ADD COLUMN "image_version_id" text;--> statement-breakpoint
ALTER TABLE "products" ADD COLUMN "release_application_id" text;--> statement-breakpoint
ALTER TABLE "products" ADD COLUMN "description" text;--> statement-breakpoint
ALTER TABLE "image_asset_versions" ADD CONSTRAINT "image_asset_versions_asset_id_image_assets_id_fk" FOREIGN KEY ("asset_id") REFERENCES "public"."image_assets"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "image_assets" ADD CONSTRAINT "image_assets_merchant_id_merchants_id_fk" FOREIGN KEY ("merchant_id") REFERENCES "public"."merchants"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "product_application_revisions" ADD CONSTRAINT "product_application_revisions_application_id_product_applications_id_fk" FOREIGN KEY ("application_id") REFERENCES "public"."product_applications"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "product_applications" ADD CONSTRAINT "product_applications_merchant_id_merchants_id_fk" FOREIGN KEY ("merchant_id") REFERENCES "public"."merchants"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "product_applications" ADD CONSTRAINT "product_applications_applicant_principal_id_principals_id_fk" FOREIGN KEY ("applicant_principal_id") REFERENCES "public"."principals"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "product_applications" ADD CONSTRAINT "product_applications_image_version_id_image_asset_versions_id_fk" FOREIGN KEY ("image_version_id") REFERENCES "public"."image_asset_versions"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "product_review_events" ADD CONSTRAINT "product_review_events_application_id_product_applications_id_fk" FOREIGN KEY ("application_id") REFERENCES "public"."product_applications"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "scan_checkpoints" ADD CONSTRAINT "scan_checkpoints_version_id_image_asset_versions_id_fk" FOREIGN KEY ("version_id") REFERENCES "public"."image_asset_versions"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "vulnerability_packages" ADD CONSTRAINT "vulnerability_packages_vulnerability_id_vulnerabilities_id_fk" FOREIGN KEY ("vulnerability_id") REFERENCES "public"."vulnerabilities"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "image_asset_versions_version" ON "image_asset_versions" USING btree ("asset_id","version");--> statement-breakpoint
CREATE INDEX "image_asset_versions_unstarted" ON "image_asset_versions" USING btree ("created_at") WHERE workflow_started_at is null;--> statement-breakpoint
CREATE INDEX "image_assets_merchant" ON "image_assets" USING btree ("merchant_id");--> statement-breakpoint
CREATE INDEX "product_applications_filed" ON "product_applications" USING btree ("merchant_id","filed_day");--> statement-breakpoint
CREATE INDEX "product_applications_queue" ON "product_applications" USING btree ("status","deadline");--> statement-breakpoint
CREATE INDEX "product_applications_unstarted" ON "product_applications" USING btree ("created_at") WHERE workflow_started_at is null;--> statement-breakpoint
CREATE UNIQUE INDEX "product_review_events_key" ON "product_review_events" USING btree ("application_id","event_key");--> statement-breakpoint
CREATE UNIQUE INDEX "scan_attempts_key" ON "scan_attempts" USING btree ("scan_key","attempt");--> statement-breakpoint
CREATE UNIQUE INDEX "vulnerability_packages_key" ON "vulnerability_packages" USING btree ("vulnerability_id","ecosystem","name");--> statement-breakpoint
CREATE INDEX "vulnerability_packages_name" ON "vulnerability_packages" USING btree ("ecosystem","name");