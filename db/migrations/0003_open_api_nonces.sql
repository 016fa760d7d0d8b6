CREATE TABLE "open_api_nonces" (
	"key_id" text NOT NULL,
	"nonce" text NOT NULL,
	"seen_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX "open_api_nonces_key" ON "open_api_nonces" USING btree ("key_id","nonce");--> statement-breakpoint
CREATE INDEX "open_api_nonces_seen" ON "open_api_nonces" USING btree ("seen_at");