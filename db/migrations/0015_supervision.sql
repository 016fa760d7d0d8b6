CREATE TABLE "supervision_downloads" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"file_id" text NOT NULL,
	"principal_id" text NOT NULL,
	"role" text NOT NULL,
	"at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "supervision_files" (
	"id" text PRIMARY KEY NOT NULL,
	"order_line_id" text NOT NULL,
	"uploaded_by" text NOT NULL,
	"uploader_role" text NOT NULL,
	"kind" text NOT NULL,
	"filename" text NOT NULL,
	"content_type" text NOT NULL,
	"size" integer NOT NULL,
	"sha256" text NOT NULL,
	"storage_key" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "supervision_log" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"order_line_id" text NOT NULL,
	"seq" integer NOT NULL,
	"actor_role" text NOT NULL,
	"actor_id" text,
	"action" text NOT NULL,
	"stage" text NOT NULL,
	"stage_after" text NOT NULL,
	"comment" text,
	"attachments" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"data" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "supervisions" (
	"order_line_id" text PRIMARY KEY NOT NULL,
	"order_id" text NOT NULL,
	"buyer_principal_id" text NOT NULL,
	"merchant_id" text NOT NULL,
	"product_id" text NOT NULL,
	"kind" text NOT NULL,
	"stage" text NOT NULL,
	"stage_entered_at" timestamp with time zone NOT NULL,
	"appeal_state" text DEFAULT 'none' NOT NULL,
	"appeal" jsonb,
	"refund_requested_at" timestamp with time zone,
	"buyer_rejections" integer DEFAULT 0 NOT NULL,
	"seller_rejections" integer DEFAULT 0 NOT NULL,
	"delivered_at" timestamp with time zone,
	"signed_off_at" timestamp with time zone,
	"actual_start_at" timestamp with time zone,
	"accepted_at" timestamp with time zone,
	"valid_from" timestamp with time zone,
	"valid_until" timestamp with time zone,
	"last_seq" integer DEFAULT 0 NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "products" ADD COLUMN "supervised" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "products" ADD COLUMN "delivery_template" jsonb DEFAULT '[]'::jsonb NOT NULL;--> statement-breakpoint
ALTER TABLE "supervision_downloads" ADD CONSTRAINT "supervision_downloads_file_id_supervision_files_id_fk" FOREIGN KEY ("file_id") REFERENCES "public"."supervision_files"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "supervision_downloads" ADD CONSTRAINT "supervision_downloads_principal_id_principals_id_fk" FOREIGN KEY ("principal_id") REFERENCES "public"."principals"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "supervision_files" ADD CONSTRAINT "supervision_files_order_line_id_order_lines_id_fk" FOREIGN KEY ("order_line_id") REFERENCES "public"."order_lines"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "supervision_files" ADD CONSTRAINT "supervision_files_uploaded_by_principals_id_fk" FOREIGN KEY ("uploaded_by") REFERENCES "public"."principals"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "supervision_log" ADD CONSTRAINT "supervision_log_order_line_id_order_lines_id_fk" FOREIGN KEY ("order_line_id") REFERENCES "public"."order_lines"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "supervisions" ADD CONSTRAINT "supervisions_order_line_id_order_lines_id_fk" FOREIGN KEY ("order_line_id") REFERENCES "public"."order_lines"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "supervisions" ADD CONSTRAINT "supervisions_order_id_orders_id_fk" FOREIGN KEY ("order_id") REFERENCES "public"."orders"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "supervisions" ADD CONSTRAINT "supervisions_buyer_principal_id_principals_id_fk" FOREIGN KEY ("buyer_principal_id") REFERENCES "public"."principals"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "supervisions" ADD CONSTRAINT "supervisions_merchant_id_merchants_id_fk" FOREIGN KEY ("merchant_id") REFERENCES "public"."merchants"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "supervisions" ADD CONSTRAINT "supervisions_product_id_products_id_fk" FOREIGN KEY ("product_id") REFERENCES "public"."products"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "supervision_downloads_file" ON "supervision_downloads" USING btree ("file_id");--> statement-breakpoint
CREATE INDEX "supervision_files_line" ON "supervision_files" USING btree ("order_line_id");--> statement-breakpoint
CREATE UNIQUE INDEX "supervision_log_seq" ON "supervision_log" USING btree ("order_line_id","seq");--> statement-breakpoint
CREATE INDEX "supervisions_buyer" ON "supervisions" USING btree ("buyer_principal_id");--> statement-breakpoint
CREATE INDEX "supervisions_merchant" ON "supervisions" USING btree ("merchant_id");--> statement-breakpoint
CREATE INDEX "supervisions_appeal" ON "supervisions" USING btree ("appeal_state");