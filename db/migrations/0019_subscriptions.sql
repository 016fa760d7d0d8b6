CREATE TABLE "seller_endpoint_slots" (
	"endpoint" text NOT NULL,
	"slot" integer NOT NULL,
	"holder" text,
	"until" timestamp with time zone DEFAULT '-infinity' NOT NULL,
	CONSTRAINT "seller_endpoint_slots_endpoint_slot_pk" PRIMARY KEY("endpoint","slot")
);
--> statement-breakpoint
CREATE TABLE "subscription_events" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"instance_id" text NOT NULL,
	"key" text NOT NULL,
	"type" text NOT NULL,
	"data" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "subscription_orders" (
	"id" text PRIMARY KEY NOT NULL,
	"order_line_id" text NOT NULL,
	"instance_id" text NOT NULL,
	"buyer_principal_id" text NOT NULL,
	"kind" text NOT NULL,
	"trigger" text,
	"periods" integer DEFAULT 0 NOT NULL,
	"starts_at" timestamp with time zone,
	"ends_at" timestamp with time zone,
	"price_cents" integer DEFAULT 0 NOT NULL,
	"status" text NOT NULL,
	"year" integer,
	"refers_to" text,
	"created_at" timestamp with time zone NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "subscriptions" (
	"id" text PRIMARY KEY NOT NULL,
	"order_line_id" text NOT NULL,
	"buyer_principal_id" text NOT NULL,
	"merchant_id" text NOT NULL,
	"product_id" text NOT NULL,
	"sku_id" text NOT NULL,
	"trial" boolean NOT NULL,
	"status" text NOT NULL,
	"stuck" text,
	"policy" text NOT NULL,
	"delivered_at" timestamp with time zone NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	"release_at" timestamp with time zone,
	"next_action" text,
	"next_action_at" timestamp with time zone,
	"version" bigint DEFAULT 0 NOT NULL,
	"workflow_started_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "principals" ADD COLUMN "customer_level" text DEFAULT 'V0' NOT NULL;--> statement-breakpoint
ALTER TABLE "skus" ADD COLUMN "trial_days" integer;--> statement-breakpoint
ALTER TABLE "subscription_events" ADD CONSTRAINT "subscription_events_instance_id_subscriptions_id_fk" FOREIGN KEY ("instance_id") REFERENCES "public"."subscriptions"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "subscription_orders" ADD CONSTRAINT "subscription_orders_instance_id_subscriptions_id_fk" FOREIGN KEY ("instance_id") REFERENCES "public"."subscriptions"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "subscriptions" ADD CONSTRAINT "subscriptions_id_instances_id_fk" FOREIGN KEY ("id") REFERENCES "public"."instances"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "subscriptions" ADD CONSTRAINT "subscriptions_order_line_id_order_lines_id_fk" FOREIGN KEY ("order_line_id") REFERENCES "public"."order_lines"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "subscriptions" ADD CONSTRAINT "subscriptions_buyer_principal_id_principals_id_fk" FOREIGN KEY ("buyer_principal_id") REFERENCES "public"."principals"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "subscriptions" ADD CONSTRAINT "subscriptions_product_id_products_id_fk" FOREIGN KEY ("product_id") REFERENCES "public"."products"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "subscriptions" ADD CONSTRAINT "subscriptions_sku_id_skus_id_fk" FOREIGN KEY ("sku_id") REFERENCES "public"."skus"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "subscription_events_key" ON "subscription_events" USING btree ("key");--> statement-breakpoint
CREATE INDEX "subscription_events_instance" ON "subscription_events" USING btree ("instance_id","at");--> statement-breakpoint
CREATE INDEX "subscription_orders_instance" ON "subscription_orders" USING btree ("instance_id","created_at");--> statement-breakpoint
CREATE UNIQUE INDEX "subscription_orders_line" ON "subscription_orders" USING btree ("order_line_id");--> statement-breakpoint
CREATE INDEX "subscription_orders_quota" ON "subscription_orders" USING btree ("buyer_principal_id","year") WHERE kind = 'unsubscribe';--> statement-breakpoint
CREATE UNIQUE INDEX "subscription_orders_one_unsubscribe" ON "subscription_orders" USING btree ("instance_id") WHERE kind = 'unsubscribe';--> statement-breakpoint
CREATE INDEX "subscriptions_buyer" ON "subscriptions" USING btree ("buyer_principal_id");--> statement-breakpoint
CREATE INDEX "subscriptions_merchant" ON "subscriptions" USING btree ("merchant_id");--> statement-breakpoint
CREATE INDEX "subscriptions_unstarted" ON "subscriptions" USING btree ("created_at") WHERE workflow_started_at is null;