CREATE TABLE "dial_test_cases" (
	"id" text PRIMARY KEY NOT NULL,
	"product_id" text NOT NULL,
	"activity" text NOT NULL,
	"body" jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "dial_test_runs" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"dedupe_key" text NOT NULL,
	"product_id" text NOT NULL,
	"day" text NOT NULL,
	"passed" boolean NOT NULL,
	"details" jsonb NOT NULL,
	"at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
ALTER TABLE "dial_test_cases" ADD CONSTRAINT "dial_test_cases_product_id_products_id_fk" FOREIGN KEY ("product_id") REFERENCES "public"."products"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "dial_test_runs" ADD CONSTRAINT "dial_test_runs_product_id_products_id_fk" FOREIGN KEY ("product_id") REFERENCES "public"."products"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "dial_test_runs_dedupe" ON "dial_test_runs" USING btree ("dedupe_key");--> statement-breakpoint
CREATE INDEX "dial_test_runs_product_day" ON "dial_test_runs" USING btree ("product_id","day");