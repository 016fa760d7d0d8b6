DROP TABLE "accounts" CASCADE;--> statement-breakpoint
DROP TABLE "ledger" CASCADE;