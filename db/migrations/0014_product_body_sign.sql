ALTER TABLE "products" ADD COLUMN "require_body_sign" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "products" ADD COLUMN "replies_signed" boolean;