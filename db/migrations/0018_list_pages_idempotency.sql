CREATE TABLE "idempotency_keys" (
	"principal_id" text NOT NULL,
	"request" text NOT NULL,
	"key" text NOT NULL,
	"fingerprint" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "idempotency_keys_principal_id_request_key_pk" PRIMARY KEY("principal_id","request","key")
);
--> statement-breakpoint
CREATE INDEX "orders_buyer_page" ON "orders" USING btree ("buyer_principal_id",date_trunc('milliseconds', "created_at" at time zone 'UTC'),"id");